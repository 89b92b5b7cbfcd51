#include "nodulecad/core/progress.hpp"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>

namespace nodulecad {

namespace {
std::atomic<bool> g_enabled{false};
}

void Progress::set_enabled(bool on) { g_enabled = on; }

std::string format_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return "?";
    const auto s = static_cast<long>(std::lround(seconds));
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else
        std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    return buf;
}

Progress::Progress(std::string label, std::int64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), start_(Clock::now()), last_draw_(start_),
      tty_(::isatty(STDERR_FILENO) != 0) {
    if (g_enabled) draw(false);
}

Progress::~Progress() { finish(); }

void Progress::advance(std::int64_t n) {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ += n;
    if (!g_enabled) return;
    const auto now = Clock::now();
    const int decile = total_ > 0 ? static_cast<int>(10 * done_ / total_) : 0;
    if (tty_ ? now - last_draw_ > std::chrono::milliseconds(100) : decile != last_decile_) {
        last_draw_ = now;
        last_decile_ = decile;
        draw(false);
    }
}

void Progress::set_status(std::string status) {
    std::lock_guard<std::mutex> lock(mutex_);
    status_ = std::move(status);
}

void Progress::finish() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_) return;
    finished_ = true;
    if (g_enabled) draw(true);
}

void Progress::draw(bool final) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    const double frac = total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
    constexpr int kWidth = 28;
    const int filled = static_cast<int>(frac * kWidth);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(kWidth - filled), '.');
    char line[256];
    if (final) {
        std::snprintf(line, sizeof line, "%s [%s] %lld/%lld %s done in %s %s", label_.c_str(), bar.c_str(),
                      static_cast<long long>(done_), static_cast<long long>(total_), unit_.c_str(),
                      format_duration(elapsed).c_str(), status_.c_str());
    } else {
        const double eta = done_ > 0 ? elapsed * static_cast<double>(total_ - done_) / static_cast<double>(done_) : NAN;
        const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0;
        std::snprintf(line, sizeof line, "%s [%s] %lld/%lld %s %.2f/s ETA %s %s", label_.c_str(), bar.c_str(),
                      static_cast<long long>(done_), static_cast<long long>(total_), unit_.c_str(), rate,
                      format_duration(eta).c_str(), status_.c_str());
    }
    if (tty_)
        std::fprintf(stderr, "\r%s\033[K%s", line, final ? "\n" : "");
    else
        std::fprintf(stderr, "%s\n", line);
    std::fflush(stderr);
}

}  // namespace nodulecad
