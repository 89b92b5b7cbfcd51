#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <stdexcept>
#include <vector>

#include "nodulecad/core/progress.hpp"
#include "nodulecad/core/threads.hpp"

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

TEST(Progress, PrintsCountsRateAndStatusOnStderr) {
    // Capture stderr in a temporary file.
    std::fflush(stderr);
    char path[] = "/tmp/nodulecad-progress-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    const int saved = ::dup(STDERR_FILENO);
    ::dup2(fd, STDERR_FILENO);
    Progress::set_enabled(true);
    {
        Progress p("train epoch 1/2", 10, "images");
        p.set_status("loss -0.5000 Dice 0.5000");
        p.advance(10);
    }
    Progress::set_enabled(false);
    std::fflush(stderr);
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    ::close(fd);
    std::FILE* f = std::fopen(path, "r");
    std::string text;
    char buf[512];
    while (std::fgets(buf, sizeof buf, f)) text += buf;
    std::fclose(f);
    std::remove(path);
    EXPECT_NE(text.find("train epoch 1/2 ["), std::string::npos) << text;
    EXPECT_NE(text.find("10/10 images done in 0:00 loss -0.5000 Dice 0.5000"), std::string::npos) << text;
}

TEST(Progress, DurationFormat) {
    EXPECT_EQ(format_duration(0), "0:00");
    EXPECT_EQ(format_duration(65.4), "1:05");
    EXPECT_EQ(format_duration(3 * 3600 + 7), "3:00:07");
    EXPECT_EQ(format_duration(-1), "?");
}

}  // namespace
}  // namespace nodulecad
