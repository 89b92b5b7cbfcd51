#include <gtest/gtest.h>
#include <time.h>

#include <chrono>
#include <thread>

#include "nodulecad/core/cpu_time.hpp"

namespace nodulecad {
namespace {

double thread_cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// Spins until this thread has used `seconds` of CPU (bounded by 30 s of wall clock, so a broken clock fails).
void spin_for_cpu(double seconds) {
    const double start = thread_cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    volatile double x = 0;
    while (thread_cpu_seconds() - start < seconds && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30))
        for (int i = 0; i < 10000; ++i) x = x + i;
}

}  // namespace

// The process's CPU time grows with work in any of its threads and not with waiting.
TEST(CpuTime, CountsEveryThreadsWorkAndNotWaiting) {
    const double c0 = process_cpu_seconds();
    EXPECT_GT(c0, 0.0);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const double c1 = process_cpu_seconds();
    EXPECT_LT(c1 - c0, 0.1);  // 300 ms asleep

    spin_for_cpu(0.2);
    const double c2 = process_cpu_seconds();
    EXPECT_GE(c2 - c1, 0.2);

    std::thread worker([] { spin_for_cpu(0.3); });  // another thread's work counts too
    worker.join();
    EXPECT_GE(process_cpu_seconds() - c2, 0.3);
}

}  // namespace nodulecad
