#include "nodulecad/core/warnings.hpp"

#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <set>

namespace nodulecad {

namespace {
std::mutex g_mutex;
std::set<std::string> g_seen;
std::vector<std::string> g_order;
}  // namespace

void warn(const std::string& source, const std::string& what) {
    const std::string line = source.empty() ? what : source + ": " + what;
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!g_seen.insert(line).second) return;
    g_order.push_back(line);
    // On a terminal a progress bar may own the current line: clear it first (the bar redraws below).
    const char* clear = ::isatty(STDERR_FILENO) ? "\r\033[K" : "";
    std::fprintf(stderr, "%snodulecad: warning: %s\n", clear, line.c_str());
}

std::vector<std::string> warnings_given() {
    std::lock_guard<std::mutex> lock(g_mutex);
    return g_order;
}

}  // namespace nodulecad
