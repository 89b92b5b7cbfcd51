#include "nodulecad/core/interrupt.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace nodulecad {

namespace {

// Fixed storage the handler can read without allocating or locking: a slot is claimed by a CAS on `state`
// (0 free, 1 being filled, 2 holding a path), and only slots in state 2 are unlinked.
constexpr int kSlots = 64;
constexpr std::size_t kPathMax = 4096;
struct Slot {
    std::atomic<int> state{0};
    char path[kPathMax];
};
Slot g_slots[kSlots];
bool g_tty = false;

void write_stderr(const char* s) {
    const std::size_t n = std::strlen(s);
    if (write(2, s, n) < 0) {
        // nothing more can be done from a handler
    }
}

extern "C" void on_interrupt(int sig) {
    for (Slot& s : g_slots)
        if (s.state.load(std::memory_order_acquire) == 2) unlink(s.path);
    if (g_tty) write_stderr("\r\033[K");  // the progress bar's line
    write_stderr(sig == SIGINT ? "nodulecad: interrupted (SIGINT): run the same command to resume\n"
                               : "nodulecad: interrupted (SIGTERM): run the same command to resume\n");
    _exit(128 + sig);
}

void install(int sig) {
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) return;
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, nullptr);
}

}  // namespace

void install_interrupt_handlers() {
    g_tty = isatty(2) == 1;
    install(SIGINT);
    install(SIGTERM);
    // A write past the file-size limit (ulimit -f) would kill the process with SIGXFSZ; ignored, the write fails
    // with EFBIG instead and becomes the usual one-line error naming the file.
    signal(SIGXFSZ, SIG_IGN);
}

PendingTemporary::PendingTemporary(const std::string& path) {
    if (path.size() >= kPathMax) return;
    for (int i = 0; i < kSlots; ++i) {
        int free = 0;
        if (!g_slots[i].state.compare_exchange_strong(free, 1, std::memory_order_acq_rel)) continue;
        std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
        g_slots[i].state.store(2, std::memory_order_release);
        slot_ = i;
        return;
    }
}

PendingTemporary::~PendingTemporary() {
    if (slot_ >= 0) g_slots[slot_].state.store(0, std::memory_order_release);
}

}  // namespace nodulecad
