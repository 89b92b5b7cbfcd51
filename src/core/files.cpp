#include "nodulecad/core/files.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/interrupt.hpp"

namespace nodulecad {

namespace {
std::string errno_text() { return std::strerror(errno); }

}  // namespace

void write_all(std::FILE* f, const void* data, std::size_t bytes, const std::string& path) {
    if (bytes > 0 && std::fwrite(data, 1, bytes, f) != bytes) fail(path, "write failed: " + errno_text());
}

void write_file_atomically(const std::string& path, const std::function<void(std::FILE*)>& write) {
    static std::atomic<unsigned> counter{0};
    const std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    const PendingTemporary pending(tmp);  // removed should the process be interrupted before the rename
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) fail(path, "cannot create file: " + errno_text());
    try {
        write(f);
        if (std::fflush(f) != 0) fail(path, "write failed: " + errno_text());
        const int rc = std::fclose(f);
        f = nullptr;
        if (rc != 0) fail(path, "write failed: " + errno_text());
        std::error_code ec;
        std::filesystem::rename(tmp, path, ec);
        if (ec) fail(path, "cannot rename temporary file into place: " + ec.message());
    } catch (...) {
        if (f) std::fclose(f);
        std::error_code ignored;
        std::filesystem::remove(tmp, ignored);
        throw;
    }
}

int remove_stale_temporaries(const std::string& dir) {
    namespace fs = std::filesystem;
    int removed = 0;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return 0;
    for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file(ec)) continue;
        // "<name>.tmp-<pid>-<n>": digits, a dash, digits after the last ".tmp-".
        const std::string name = it->path().filename().string();
        const auto at = name.rfind(".tmp-");
        if (at == std::string::npos) continue;
        const std::string tail = name.substr(at + 5);
        const auto dash = tail.find('-');
        if (dash == std::string::npos || dash == 0 || dash + 1 >= tail.size() ||
            tail.find_first_not_of("0123456789", 0) != dash || tail.find_first_not_of("0123456789", dash + 1) != std::string::npos)
            continue;
        const long pid = std::stol(tail.substr(0, dash));
        const bool alive = pid != static_cast<long>(::getpid()) && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
        if (alive) continue;
        std::error_code rm;
        if (fs::remove(it->path(), rm)) ++removed;
    }
    return removed;
}

void write_file_atomically(const std::string& path, std::string_view contents) {
    write_file_atomically(path, [&](std::FILE* f) { write_all(f, contents.data(), contents.size(), path); });
}

std::string read_file(const std::string& path) { return read_file_prefix(path, static_cast<std::size_t>(-1)); }

std::string read_file_prefix(const std::string& path, std::size_t max_bytes) {
    UniqueFile f(std::fopen(path.c_str(), "rb"));
    if (!f) fail(path, "cannot open file: " + errno_text());
    std::string out;
    char buf[1 << 16];
    std::size_t n;
    while (out.size() < max_bytes &&
           (n = std::fread(buf, 1, std::min(sizeof buf, max_bytes - out.size()), f.get())) > 0)
        out.append(buf, n);
    if (std::ferror(f.get())) fail(path, "read failed: " + errno_text());
    return out;
}

std::uint64_t file_size(const std::string& path) {
    std::error_code ec;
    const auto s = std::filesystem::file_size(path, ec);
    if (ec) fail(path, "cannot read file size: " + ec.message());
    return s;
}

std::uint64_t path_bytes(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_directory(path, ec)) return file_size(path);
    std::uint64_t total = 0;
    for (auto it = std::filesystem::recursive_directory_iterator(path, std::filesystem::directory_options::follow_directory_symlink, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec)) total += file_size(it->path().string());
    if (ec) fail(path, "cannot list the folder: " + ec.message());
    return total;
}

}  // namespace nodulecad
