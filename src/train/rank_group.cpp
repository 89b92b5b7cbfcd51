#include "nodulecad/train/rank_group.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <mutex>
#include <thread>
#include <string>

#include "nodulecad/core/error.hpp"

#ifdef NODULECAD_HAVE_C10D_GLOO
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace nodulecad {

#ifdef NODULECAD_HAVE_C10D_GLOO

bool rank_groups_available() { return true; }

namespace {

std::string this_host() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0) return "?";
    return name;
}

// A process that has ended — a zombie its launcher has not reaped yet counts as ended.
bool process_alive(long pid) {
    if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return false;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!stat || !std::getline(stat, line)) return true;  // no /proc: trust kill()
    const auto close_paren = line.rfind(')');
    if (close_paren == std::string::npos || close_paren + 2 >= line.size()) return true;
    const char state = line[close_paren + 2];
    return state != 'Z' && state != 'X';
}

// What c10d says, on one line.
std::string one_line(std::string s) {
    for (char& c : s)
        if (c == '\n' || c == '\r') c = ' ';
    if (s.size() > 300) s = s.substr(0, 300) + "...";
    return s;
}

// c10d logs every failed bind and connect attempt of the rendezvous to stderr (through glog in Debian's build);
// the Error thrown carries the same text on one line, so while joining, file descriptor 2 goes to /dev/null. Ranks
// joining at once as threads of one process (the tests) share one redirection: the first in saves the descriptor,
// the last out puts it back.
class StderrSilenced {
public:
    StderrSilenced() {
        const std::lock_guard<std::mutex> lock(mutex());
        if (users()++ > 0) return;
        saved() = dup(2);
        const int null = open("/dev/null", O_WRONLY);
        if (saved() >= 0 && null >= 0) dup2(null, 2);
        if (null >= 0) close(null);
    }
    ~StderrSilenced() {
        const std::lock_guard<std::mutex> lock(mutex());
        if (--users() > 0 || saved() < 0) return;
        dup2(saved(), 2);
        close(saved());
        saved() = -1;
    }
    StderrSilenced(const StderrSilenced&) = delete;
    StderrSilenced& operator=(const StderrSilenced&) = delete;

private:
    static std::mutex& mutex() {
        static std::mutex m;
        return m;
    }
    static int& users() {
        static int n = 0;
        return n;
    }
    static int& saved() {
        static int fd = -1;
        return fd;
    }
};

}  // namespace

struct RankGroup::Impl {
    WorldSpec world;
    std::chrono::seconds timeout{};
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
    std::vector<std::string> hosts;  // per rank, from the store after joining
    std::vector<long> pids;

    // The ranks that are gone, where that can be told: those on this machine whose process has ended.
    std::string gone() const {
        std::string out;
        const std::string me = this_host();
        for (std::size_t r = 0; r < pids.size(); ++r) {
            if (static_cast<int>(r) == world.rank || hosts[r] != me) continue;
            if (!process_alive(pids[r])) out += (out.empty() ? "" : ", ") + std::to_string(r);
        }
        return out;
    }

    bool peers_here() const {
        for (std::size_t r = 0; r < hosts.size(); ++r)
            if (static_cast<int>(r) != world.rank && hosts[r] == this_host()) return true;
        return false;
    }

    [[noreturn]] void lost(const char* during, const std::exception& e) const {
        // A killed rank's sockets close while the kernel is still tearing its process down: give a rank on this
        // machine up to 3 s to be seen as ended before saying that it cannot be told.
        std::string dead = gone();
        for (int i = 0; dead.empty() && i < 30 && peers_here(); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            dead = gone();
        }
        const std::string who = dead.empty() ? "another rank died, was killed or stalled for more than " + std::to_string(timeout.count()) + " s"
                                             : (dead.find(',') == std::string::npos ? "rank " : "ranks ") + dead + " ended";
        throw Error("rank " + std::to_string(world.rank) + " of " + std::to_string(world.size) + ": lost the other ranks during " + during + " (" +
                    who + "; --dist-timeout sets the wait): " + one_line(e.what()));
    }

    template <class F> void run(const char* what, F&& f) {
        try {
            f();
        } catch (const Error&) {
            throw;
        } catch (const std::exception& e) {
            lost(what, e);
        }
    }
};

RankGroup::RankGroup(const WorldSpec& world, std::chrono::seconds timeout) : impl_(std::make_unique<Impl>()) {
    impl_->world = world;
    impl_->timeout = timeout;
    const std::string where = world.master_addr + ":" + std::to_string(world.master_port);
    const StderrSilenced quiet;
    try {
        c10d::TCPStoreOptions so;
        so.port = static_cast<std::uint16_t>(world.master_port);
        // Rank 0 hosts the store unless torchrun's agent already does.
        so.isServer = world.rank == 0 && !world.agent_store();
        so.numWorkers = world.agent_store() ? c10::nullopt : c10::optional<std::size_t>(static_cast<std::size_t>(world.size));
        so.waitWorkers = false;
        so.timeout = timeout;
        auto tcp = c10::make_intrusive<c10d::TCPStore>(world.master_addr, so);
        // A prefix of our own: torchrun's agent keeps its keys in the same store.
        impl_->store = c10::make_intrusive<c10d::PrefixStore>("nodulecad", tcp);
    } catch (const std::exception& e) {
        throw Error("rank " + std::to_string(world.rank) + " of " + std::to_string(world.size) + ": cannot " +
                    (world.rank == 0 && !world.agent_store() ? "open the rendezvous store on port " + std::to_string(world.master_port) + " (in use?)"
                                                             : "reach the rendezvous store at " + where) +
                    ": " + one_line(e.what()));
    }
    try {
        auto options = c10d::ProcessGroupGloo::Options::create(std::chrono::milliseconds(timeout));
        // The address this machine is reached at by the others: the store's own on one machine, the hostname's
        // otherwise (c10d's default device).
        const bool local = world.master_addr == "127.0.0.1" || world.master_addr == "localhost";
        options->devices.push_back(local ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1") : c10d::ProcessGroupGloo::createDefaultDevice());
        impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, world.rank, world.size, options);
        const std::string me = this_host() + " " + std::to_string(static_cast<long>(getpid()));
        impl_->store->set("pid/" + std::to_string(world.rank), std::vector<std::uint8_t>(me.begin(), me.end()));
        for (int r = 0; r < world.size; ++r) {
            const std::vector<std::uint8_t> v = impl_->store->get("pid/" + std::to_string(r));
            const std::string s(v.begin(), v.end());
            const auto space = s.rfind(' ');
            impl_->hosts.push_back(s.substr(0, space));
            impl_->pids.push_back(std::stol(s.substr(space + 1)));
        }
    } catch (const std::exception& e) {
        throw Error("rank " + std::to_string(world.rank) + " of " + std::to_string(world.size) + ": the ranks did not all join within " +
                    std::to_string(timeout.count()) + " s at " + where + ": " + one_line(e.what()));
    }
}

RankGroup::~RankGroup() = default;

int RankGroup::rank() const { return impl_->world.rank; }
int RankGroup::size() const { return impl_->world.size; }

void RankGroup::broadcast_from_first(const std::vector<torch::Tensor>& tensors) {
    impl_->run("the start (weights from rank 0)", [&] {
        for (const auto& t : tensors) {
            std::vector<at::Tensor> one{t.detach()};
            impl_->group->broadcast(one)->wait();
        }
    });
}

void RankGroup::sum(const std::vector<torch::Tensor>& tensors) {
    constexpr std::int64_t kBucketBytes = 16 << 20;
    impl_->run("a gradient sum", [&] {
        std::size_t first = 0;
        while (first < tensors.size()) {
            // One bucket: consecutive tensors of one dtype and device up to the byte budget (at least one).
            std::size_t end = first;
            std::int64_t bytes = 0;
            while (end < tensors.size() && (end == first || (bytes + tensors[end].nbytes() <= kBucketBytes && tensors[end].dtype() == tensors[first].dtype() &&
                                                             tensors[end].device() == tensors[first].device()))) {
                bytes += static_cast<std::int64_t>(tensors[end].nbytes());
                ++end;
            }
            std::vector<torch::Tensor> parts;
            for (std::size_t i = first; i < end; ++i) parts.push_back(tensors[i].reshape({-1}));
            std::vector<at::Tensor> flat{torch::cat(parts)};
            impl_->group->allreduce(flat)->wait();
            std::int64_t at = 0;
            for (std::size_t i = first; i < end; ++i) {
                const std::int64_t n = tensors[i].numel();
                tensors[i].copy_(flat[0].narrow(0, at, n).view_as(tensors[i]));
                at += n;
            }
            first = end;
        }
    });
}

void RankGroup::barrier(std::chrono::seconds timeout) {
    impl_->run("a barrier", [&] {
        c10d::BarrierOptions options;
        if (timeout.count() > 0) options.timeout = std::chrono::milliseconds(timeout);
        impl_->group->barrier(options)->wait();
    });
}

#else  // no c10d Gloo in this build

bool rank_groups_available() { return false; }

struct RankGroup::Impl {};

RankGroup::RankGroup(const WorldSpec& world, std::chrono::seconds) {
    throw Error(world.describe() + ": this build has no c10d process group (LibTorch without Gloo's headers: apt-get install libgloo-dev, "
                "then configure again)");
}
RankGroup::~RankGroup() = default;
int RankGroup::rank() const { return 0; }
int RankGroup::size() const { return 1; }
void RankGroup::broadcast_from_first(const std::vector<torch::Tensor>&) {}
void RankGroup::sum(const std::vector<torch::Tensor>&) {}
void RankGroup::barrier(std::chrono::seconds) {}

#endif

}  // namespace nodulecad
