#pragma once
// A progress bar with rate and ETA on stderr, safe to advance from several threads. Redraws at most ~10 times a
// second; when stderr is not a terminal it prints a plain line at each 10% step instead of redrawing.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace nodulecad {

class Progress {
public:
    Progress(std::string label, std::int64_t total, std::string unit = "");
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    void advance(std::int64_t n = 1);
    // Extra text shown after the rate, e.g. "loss -0.41 Dice 0.42" (thread-safe).
    void set_status(std::string status);
    void finish();  // final line with the elapsed time (also called by the destructor)

    // Off by default in tests; the CLI turns it on.
    static void set_enabled(bool on);

private:
    using Clock = std::chrono::steady_clock;
    std::string label_, unit_, status_;
    std::int64_t total_, done_ = 0;
    Clock::time_point start_, last_draw_;
    int last_decile_ = -1;
    bool finished_ = false, tty_;
    std::mutex mutex_;
    void draw(bool final);
};

// "1:05", "12:00:03" style duration.
std::string format_duration(double seconds);

}  // namespace nodulecad
