#include "nodulecad/core/launch.hpp"

#include <cstdlib>
#include <optional>

#include "nodulecad/core/error.hpp"

namespace nodulecad {

namespace {

// The variable as a whole number in [lo, hi]; nullopt when unset.
std::optional<long> integer_variable(const EnvLookup& getenv, const char* name, long lo, long hi) {
    const char* text = getenv(name);
    if (!text) return std::nullopt;
    const std::string s(text);
    char* end = nullptr;
    const long v = s.empty() ? 0 : std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0') throw Error("environment variable " + std::string(name) + "=\"" + s + "\" is not a whole number");
    if (v < lo || v > hi)
        throw Error("environment variable " + std::string(name) + "=" + s + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return v;
}

const char* launcher_name(Launcher l) {
    switch (l) {
        case Launcher::None: return "one process";
        case Launcher::Env: return "RANK/WORLD_SIZE";
        case Launcher::Torchrun: return "torchrun";
        case Launcher::Slurm: return "Slurm";
    }
    return "?";
}

void read_store_address(const EnvLookup& getenv, WorldSpec& w, const char* size_variable) {
    const char* addr = getenv("MASTER_ADDR");
    if (!addr || !*addr)
        throw Error(std::string(size_variable) + "=" + std::to_string(w.size) +
                    " is set but MASTER_ADDR is not: export MASTER_ADDR and MASTER_PORT (the rendezvous host and port; torchrun sets them, "
                    "examples/ shows Slurm)");
    w.master_addr = addr;
    const auto port = integer_variable(getenv, "MASTER_PORT", 1, 65535);
    if (!port) throw Error(std::string(size_variable) + "=" + std::to_string(w.size) + " is set but MASTER_PORT is not: export it with MASTER_ADDR");
    w.master_port = static_cast<int>(*port);
}

}  // namespace

std::string WorldSpec::describe() const {
    if (!distributed()) return "one process";
    const std::string store = master_addr.empty() ? "" : ", store " + master_addr + ":" + std::to_string(master_port);
    return "rank " + std::to_string(rank) + " of " + std::to_string(size) + " (" + launcher_name(launcher) + store + ")";
}

WorldSpec world_from_environment(const EnvLookup& getenv, Rendezvous rendezvous) {
    constexpr long kMaxRanks = 1 << 20;
    WorldSpec w;
    if (const auto size = integer_variable(getenv, "WORLD_SIZE", 1, kMaxRanks)) {
        w.size = static_cast<int>(*size);
        w.rank = static_cast<int>(integer_variable(getenv, "RANK", 0, kMaxRanks).value_or(0));
        w.local_rank = static_cast<int>(integer_variable(getenv, "LOCAL_RANK", 0, kMaxRanks).value_or(0));
        if (w.rank >= w.size) throw Error("environment variable RANK=" + std::to_string(w.rank) + " must be below WORLD_SIZE=" + std::to_string(w.size));
        if (!getenv("RANK") && w.size > 1) throw Error("WORLD_SIZE=" + std::to_string(w.size) + " is set but RANK is not: give every process its RANK");
        const char* agent = getenv("TORCHELASTIC_USE_AGENT_STORE");
        w.launcher = agent && std::string(agent) == "True" ? Launcher::Torchrun : Launcher::Env;
        if (w.size > 1 && (rendezvous == Rendezvous::Needed || getenv("MASTER_ADDR"))) read_store_address(getenv, w, "WORLD_SIZE");
        if (w.size == 1) w.launcher = Launcher::None;
        return w;
    }
    const char* addr = getenv("MASTER_ADDR");
    if (addr && *addr) {
        if (const auto ntasks = integer_variable(getenv, "SLURM_NTASKS", 1, kMaxRanks); ntasks && *ntasks > 1) {
            w.size = static_cast<int>(*ntasks);
            const auto procid = integer_variable(getenv, "SLURM_PROCID", 0, kMaxRanks);
            if (!procid) throw Error("SLURM_NTASKS=" + std::to_string(w.size) + " and MASTER_ADDR are set but SLURM_PROCID is not: start the ranks with srun");
            w.rank = static_cast<int>(*procid);
            if (w.rank >= w.size) throw Error("environment variable SLURM_PROCID=" + std::to_string(w.rank) + " must be below SLURM_NTASKS=" + std::to_string(w.size));
            w.local_rank = static_cast<int>(integer_variable(getenv, "SLURM_LOCALID", 0, kMaxRanks).value_or(0));
            w.launcher = Launcher::Slurm;
            read_store_address(getenv, w, "SLURM_NTASKS");
        }
    }
    return w;
}

WorldSpec world_from_environment(Rendezvous rendezvous) {
    return world_from_environment([](const char* name) { return static_cast<const char*>(std::getenv(name)); }, rendezvous);
}

std::string Shard::describe() const { return std::to_string(index) + "/" + std::to_string(count); }

Shard parse_shard(const std::string& text) {
    const auto slash = text.find('/');
    const auto whole = [&](const std::string& s, long& out) {
        if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) return false;
        out = std::strtol(s.c_str(), nullptr, 10);
        return true;
    };
    long k = 0, n = 0;
    if (slash == std::string::npos || !whole(text.substr(0, slash), k) || !whole(text.substr(slash + 1), n))
        throw OptionError("shard", "must be K/N (shard K of N, counted from 0), got \"" + text + "\"");
    if (n < 1) throw OptionError("shard", "needs N >= 1, got \"" + text + "\"");
    if (k >= n) throw OptionError("shard", "needs K below N (shards 0 to " + std::to_string(n - 1) + "), got \"" + text + "\"");
    return {static_cast<int>(k), static_cast<int>(n)};
}

Shard shard_for(const std::string& given, const WorldSpec& world) {
    const Shard launched{world.rank, world.size};
    if (given.empty()) return launched;
    const Shard s = parse_shard(given);
    if (world.distributed() && (s.index != launched.index || s.count != launched.count))
        throw OptionError("shard", s.describe() + " disagrees with the launcher's " + world.describe() + ": give one or the other");
    return s;
}

Shard shard_for(const std::string& given) { return shard_for(given, world_from_environment(Rendezvous::None)); }

}  // namespace nodulecad
