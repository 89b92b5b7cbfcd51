// Work run in a child process: its results come back through shared memory, and a crash, a failure or a stall ends
// as a description instead of ending (or freezing) this process.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "nodulecad/core/child_process.hpp"
#include "nodulecad/core/threads.hpp"

namespace nodulecad {
namespace {

TEST(ChildProcess, ResultsComeBackThroughSharedMemoryFromEveryThreadOfTheChild) {
    SharedBytes shared(1000 * sizeof(int));
    ASSERT_EQ(shared.size(), 1000 * sizeof(int));
    auto* values = reinterpret_cast<int*>(shared.data());
    EXPECT_EQ(values[999], 0);  // zeroed
    int ticks_seen_by_child = 0;
    const ChildEnd end = run_in_child(
        [&](const std::function<void()>& progress) {
            parallel_for(1000, 3, [&](std::int64_t i) {
                values[i] = static_cast<int>(i * i);
                progress();
            });
            ticks_seen_by_child = 1;  // the child's copy: never the parent's
        },
        10);
    EXPECT_TRUE(end.clean) << end.why;
    EXPECT_EQ(end.why, "");
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(values[i], i * i) << i;
    EXPECT_EQ(ticks_seen_by_child, 0);
}

TEST(ChildProcess, ACrashAFailureAndAnExceptionAreDescribedNotSuffered) {
    const ChildEnd aborted = run_in_child([](const std::function<void()>&) { std::abort(); }, 10);
    EXPECT_FALSE(aborted.clean);
    EXPECT_NE(aborted.why.find("was ended by signal 6"), std::string::npos) << aborted.why;
    const ChildEnd exited = run_in_child([](const std::function<void()>&) { std::_Exit(7); }, 10);
    EXPECT_EQ(exited.why, "failed (exit status 7)");
    const ChildEnd thrown = run_in_child([](const std::function<void()>&) { throw std::runtime_error("no"); }, 10);
    EXPECT_EQ(thrown.why, "failed (exit status 2)");
}

TEST(ChildProcess, AStalledChildIsStoppedButProgressKeepsOneAlive) {
    const auto start = std::chrono::steady_clock::now();
    const ChildEnd stalled = run_in_child([](const std::function<void()>&) { std::this_thread::sleep_for(std::chrono::seconds(30)); }, 0.3);
    EXPECT_FALSE(stalled.clean);
    EXPECT_EQ(stalled.why, "made no progress for 0.3 s and was stopped");
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));  // stopped, not waited for
    // Ten steps of 0.1 s, each reported: 1 s in all, more than the 0.3-s limit, never that long without progress.
    const ChildEnd steady = run_in_child(
        [](const std::function<void()>& progress) {
            for (int i = 0; i < 10; ++i) {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                progress();
            }
        },
        0.3);
    EXPECT_TRUE(steady.clean) << steady.why;
}

TEST(ChildProcess, AStalledChildIsTriedAgainAndACrashedOneIsNot) {
    SharedBytes shared(sizeof(int));
    auto* starts = reinterpret_cast<volatile int*>(shared.data());
    // Freezes the first time only (as a lock copied by the fork would freeze one child).
    const auto freezes_once = [&](const std::function<void()>& progress) {
        if ((*starts)++ == 0) std::this_thread::sleep_for(std::chrono::seconds(30));
        progress();
    };
    const ChildEnd once = run_in_child(freezes_once, 0.3);
    EXPECT_EQ(once.why, "made no progress for 0.3 s and was stopped");
    *starts = 0;
    const ChildEnd twice = run_in_child(freezes_once, 0.3, 2);
    EXPECT_TRUE(twice.clean) << twice.why;
    EXPECT_EQ(*starts, 2);
    *starts = 0;
    const ChildEnd crashed = run_in_child(
        [&](const std::function<void()>&) {
            ++*starts;
            std::abort();
        },
        0.3, 3);
    EXPECT_FALSE(crashed.clean);
    EXPECT_EQ(*starts, 1);
}

}  // namespace
}  // namespace nodulecad
