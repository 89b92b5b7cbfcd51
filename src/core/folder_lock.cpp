#include "nodulecad/core/folder_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>

#include "nodulecad/core/error.hpp"

namespace nodulecad {

namespace fs = std::filesystem;

namespace {

// The locks this process holds: lock file -> (descriptor, holders).
struct Held {
    int fd = -1;
    int count = 0;
    pid_t pid = 0;  // a fork()ed child inherits the map, not the right to nest in its parent's lock
};
std::mutex& held_mutex() {
    static std::mutex m;
    return m;
}
std::map<std::string, Held>& held() {
    static std::map<std::string, Held> h;
    return h;
}

std::string read_holder(int fd) {
    char buf[512];
    const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    std::string s = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

}  // namespace

FolderLock::FolderLock(const std::string& dir, const std::string& what) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) fail(dir, "cannot create the folder: " + ec.message());
    const fs::path file = fs::weakly_canonical(fs::path(dir) / ".nodulecad.lock", ec);
    key_ = (ec ? fs::path(dir) / ".nodulecad.lock" : file).string();
    const std::lock_guard<std::mutex> lock(held_mutex());
    Held& h = held()[key_];
    if (h.count > 0 && h.pid != getpid()) h = Held{};
    if (h.count > 0) {
        ++h.count;
        return;
    }
    const int fd = open(key_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        held().erase(key_);
        fail(key_, std::string("cannot open the folder's lock file: ") + std::strerror(errno));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        const std::string holder = read_holder(fd);
        close(fd);
        held().erase(key_);
        if (err == EWOULDBLOCK)
            throw Error(dir + " is in use by another nodulecad process (" + (holder.empty() ? std::string("pid unknown") : holder) +
                        "); wait for it to end, or stop it and run this again");
        fail(key_, std::string("cannot lock the folder: ") + std::strerror(err));
    }
    const std::string me = "pid " + std::to_string(getpid()) + ": " + what + "\n";
    if (ftruncate(fd, 0) != 0 || pwrite(fd, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
        // The lock holds without the note; another process would only fail to name this one.
    }
    h.fd = fd;
    h.count = 1;
    h.pid = getpid();
}

FolderLock::~FolderLock() {
    const std::lock_guard<std::mutex> lock(held_mutex());
    const auto it = held().find(key_);
    if (it == held().end() || --it->second.count > 0) return;
    close(it->second.fd);  // releases the flock
    held().erase(it);
}

}  // namespace nodulecad
