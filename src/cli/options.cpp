// What every subcommand shares: library option names as flags, the process's compute threads.
#include <map>

#include "cli/commands.hpp"
#include "nodulecad/core/progress.hpp"
#ifdef NODULECAD_HAVE_TORCH
#include "nodulecad/model/device.hpp"
#endif

namespace nodulecad::cli {

std::string flag_for_option(const std::string& option) {
    // Where a flag is not the option's name with dashes.
    static const std::map<std::string, std::string> renamed = {
        {"base_filters", "--filters"},       {"max_samples_per_epoch", "--max-samples"}, {"negatives_per_positive", "--negatives"},
        {"blobs_per_scan", "--blobs"},        {"test_subsets", "--val-subsets"},
        {"min_diameter_mm", "--min-diameter"}, {"max_diameter_mm", "--max-diameter"},    {"float_output", "--float"},
    };
    if (const auto it = renamed.find(option); it != renamed.end()) return it->second;
    std::string flag = "--" + option;
    for (char& c : flag)
        if (c == '_') c = '-';
    return flag;
}

void use_threads(int threads) {
#ifdef NODULECAD_HAVE_TORCH
    set_compute_threads(threads);
#else
    (void)threads;
#endif
}

void add_rank_options(CLI::App* cmd, int& timeout_s) {
    cmd->add_option("--dist-timeout", timeout_s,
                    "Started as several ranks (torchrun, srun, or RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT by hand;\n"
                    "docs/distributed.md): seconds a rank waits for one that died or stalled before it exits with an error")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
}

WorldSpec join_launch() {
    const WorldSpec w = world_from_environment();
    if (w.rank != 0) Progress::set_enabled(false);
    return w;
}

bool runs_as_ranks(const std::string& command) {
    for (const char* c : kRankCommands)
        if (command == c) return true;
    return false;
}

void refuse_ranks(const std::string& command) {
    WorldSpec w;
    try {
        w = world_from_environment(Rendezvous::None);
    } catch (const Error&) {
        return;  // an environment no launcher of ours made: this command runs as one process anyway
    }
    if (!w.distributed()) return;
    std::string list;
    for (const char* c : kRankCommands) list += std::string(list.empty() ? "" : ", ") + c;
    throw Error(command + " runs as one process, but was started as " + w.describe() + ": only " + list +
                " (training as ranks, or a shard of the scans per rank) run as ranks (docs/distributed.md)");
}

}  // namespace nodulecad::cli
