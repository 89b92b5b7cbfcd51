#pragma once
// Work that may abort, crash or hang on hostile input — a third-party decoder — run in a child process, so that it
// ends as an error naming what failed instead of ending (or freezing) the program. The child is a fork of this
// process: it sees the caller's data as it was, and hands results back through memory shared with it (SharedBytes,
// made before the fork). It reports progress after each unit of work; one that makes none for `stall_seconds` is
// killed. Linux (fork, poll, mmap); the child's own threads are its own.
#include <cstddef>
#include <functional>
#include <string>

namespace nodulecad {

// Zeroed memory shared between this process and the children it forks afterwards (an anonymous shared mapping).
class SharedBytes {
public:
    explicit SharedBytes(std::size_t size);  // Error when the mapping fails
    ~SharedBytes();
    SharedBytes(const SharedBytes&) = delete;
    SharedBytes& operator=(const SharedBytes&) = delete;
    char* data() const { return data_; }
    std::size_t size() const { return size_; }

private:
    char* data_ = nullptr;
    std::size_t size_ = 0;
};

struct ChildEnd {
    bool clean = false;  // `work` returned and the child exited normally
    std::string why;     // else how it ended: "was ended by signal 6 (Aborted)", "made no progress for 60 s and was stopped", ...
};

// Runs work(progress) in a forked child and waits for it; the child calls progress() after each unit of work (from
// any of its threads). The child's standard error is discarded (a library's messages would not be one line; the
// caller reports what went wrong) and its SIGINT/SIGTERM handling is the default one (an interrupt ends it; the parent
// cleans up). An exception escaping `work` ends the child with a failure. A child that stalls is stopped and, up to
// `tries` times in all, a new one started: a fork copies the locks other threads of this process hold at that
// moment, and one of them can freeze that child but not the next (`work` must therefore be safe to run again). A
// crash is not retried. Error when no child can be started.
ChildEnd run_in_child(const std::function<void(const std::function<void()>& progress)>& work, double stall_seconds, int tries = 1);

}  // namespace nodulecad
