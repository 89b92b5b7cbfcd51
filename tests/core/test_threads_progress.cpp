#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "core/progress.hpp"
#include "core/threads.hpp"

namespace nodulecad {
namespace {

TEST(Threads, EveryIndexOnceForAnyThreadCount) {
    for (int threads : {1, 2, 3, 8}) {
        std::vector<std::atomic<int>> hits(1000);
        parallel_for(1000, threads, [&](std::int64_t i) { hits[static_cast<std::size_t>(i)]++; });
        for (const auto& h : hits) ASSERT_EQ(h.load(), 1) << threads;
    }
    int calls = 0;
    parallel_for(0, 4, [&](std::int64_t) { ++calls; });
    EXPECT_EQ(calls, 0);
}

TEST(Threads, FirstExceptionIsRethrown) {
    EXPECT_THROW(parallel_for(100, 2, [](std::int64_t i) {
                     if (i == 37) throw std::runtime_error("boom");
                 }),
                 std::runtime_error);
}

TEST(Progress, DurationFormat) {
    EXPECT_EQ(format_duration(0), "0:00");
    EXPECT_EQ(format_duration(65.4), "1:05");
    EXPECT_EQ(format_duration(3 * 3600 + 7), "3:00:07");
    EXPECT_EQ(format_duration(-1), "?");
}

}  // namespace
}  // namespace nodulecad
