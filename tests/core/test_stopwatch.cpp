#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "nodulecad/core/stopwatch.hpp"

namespace nodulecad {
namespace {

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// Only orderings the steady clock guarantees: a sleep of t lasts at least t, and a watch started later reads less.
TEST(Stopwatch, SecondsLapsAndRestartsFollowTheSteadyClock) {
    const Stopwatch outer;
    Stopwatch w;
    sleep_ms(30);
    EXPECT_GE(w.seconds(), 0.03);
    const double first = w.lap();
    EXPECT_GE(first, 0.03);
    sleep_ms(20);
    const double second = w.lap();
    EXPECT_GE(second, 0.02);
    // Laps add up to the whole: together no more than the outer watch, which started first and is read last.
    EXPECT_LE(first + second, outer.seconds());
    // A lap starts the watch again: read first, it is behind the outer one by at least the 50 ms slept before it.
    EXPECT_LE(w.seconds(), outer.seconds() - 0.05);
    sleep_ms(10);
    w.restart();
    EXPECT_LE(w.seconds(), outer.seconds() - 0.06);
}

}  // namespace
}  // namespace nodulecad
