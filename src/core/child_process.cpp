#include "nodulecad/core/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "nodulecad/core/error.hpp"

namespace nodulecad {

SharedBytes::SharedBytes(std::size_t size) : size_(size) {
    if (size == 0) return;
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw Error("cannot map " + std::to_string(size) + " bytes of shared memory: " + std::strerror(errno));
    data_ = static_cast<char*>(p);
}

SharedBytes::~SharedBytes() {
    if (data_) ::munmap(data_, size_);
}

namespace {

struct Pipe {
    int fd[2] = {-1, -1};
    ~Pipe() {
        for (int f : fd)
            if (f >= 0) ::close(f);
    }
    void close_end(int i) {
        if (fd[i] >= 0) ::close(fd[i]);
        fd[i] = -1;
    }
};

// The child's life: default interrupt handling, no standard error, work, then _exit (no atexit handlers, no
// destructors of the parent's objects, no flushing of the parent's buffered output twice).
[[noreturn]] void child_main(int progress_fd, const std::function<void(const std::function<void()>&)>& work) {
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) ::dup2(null, STDERR_FILENO);
    const auto progress = [progress_fd] {
        const char tick = 1;
        while (::write(progress_fd, &tick, 1) < 0 && errno == EINTR) {
        }
    };
    try {
        work(progress);
    } catch (...) {
        ::_exit(2);
    }
    ::_exit(0);
}

std::string ending(int status) {
    if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        const char* name = ::strsignal(sig);
        return "was ended by signal " + std::to_string(sig) + (name ? std::string(" (") + name + ")" : std::string());
    }
    if (WIFEXITED(status)) return "failed (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
    return "ended abnormally";
}

int wait_for(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return status;
}

ChildEnd run_once(const std::function<void(const std::function<void()>& progress)>& work, double stall_seconds, bool& stalled) {
    Pipe p;
    if (::pipe2(p.fd, O_CLOEXEC) != 0) throw Error(std::string("cannot create a pipe for a child process: ") + std::strerror(errno));
    const pid_t pid = ::fork();
    if (pid < 0) throw Error(std::string("cannot start a child process: ") + std::strerror(errno));
    if (pid == 0) {
        ::close(p.fd[0]);
        child_main(p.fd[1], work);
    }
    p.close_end(1);
    const int timeout_ms = static_cast<int>(std::min(2e9, std::max(1.0, std::ceil(stall_seconds * 1000))));
    while (true) {
        pollfd f{p.fd[0], POLLIN, 0};
        const int ready = ::poll(&f, 1, timeout_ms);
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) {
            stalled = true;
            ::kill(pid, SIGKILL);
            wait_for(pid);
            char s[32];
            std::snprintf(s, sizeof s, "%g", stall_seconds);
            return {false, std::string("made no progress for ") + s + " s and was stopped"};
        }
        char buf[256];
        const ssize_t got = ::read(p.fd[0], buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got > 0) continue;
        break;  // end of file: the child has exited (or closed its end)
    }
    const int status = wait_for(pid);
    if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) return {true, ""};
    return {false, status < 0 ? "could not be waited for" : ending(status)};
}

}  // namespace

ChildEnd run_in_child(const std::function<void(const std::function<void()>& progress)>& work, double stall_seconds, int tries) {
    ChildEnd end;
    for (int attempt = 0; attempt < std::max(1, tries); ++attempt) {
        bool stalled = false;
        end = run_once(work, stall_seconds, stalled);
        if (!stalled) break;
    }
    return end;
}

}  // namespace nodulecad
