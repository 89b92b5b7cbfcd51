#pragma once
// Seconds on the steady clock since a start: stage and timing lines, network shares, benchmark loops. One type so
// that every place times the same way (the steady clock, never the wall clock, which may jump).
#include <chrono>

namespace nodulecad {

class Stopwatch {
public:
    // Seconds since construction or the last lap/restart.
    double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
    // seconds(), then starts again from now: consecutive laps add up to the whole.
    double lap() {
        const auto now = Clock::now();
        const double s = std::chrono::duration<double>(now - start_).count();
        start_ = now;
        return s;
    }
    void restart() { start_ = Clock::now(); }

private:
    using Clock = std::chrono::steady_clock;
    Clock::time_point start_ = Clock::now();
};

}  // namespace nodulecad
