// OrderedPrefetcher: items in index order, the same for any number of workers, errors at their own index, and an
// early stop that does not hang.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "nodulecad/core/prefetch.hpp"
#include "nodulecad/core/random.hpp"

namespace nodulecad {
namespace {

// An item that depends on its index only, made after a pseudo-random delay so workers finish out of order.
std::string make_item(std::size_t i) {
    Rng rng = Rng::derive(7, {i});
    std::this_thread::sleep_for(std::chrono::microseconds(rng.integer(0, 2000)));
    return "item" + std::to_string(i) + ":" + std::to_string(rng.integer(0, 1000000));
}

TEST(Prefetch, ItemsComeInOrderAndAreTheSameForAnyNumberOfWorkers) {
    std::vector<std::string> reference;
    for (std::size_t i = 0; i < 40; ++i) reference.push_back(make_item(i));
    for (const int workers : {1, 2, 3, 8})
        for (const std::size_t depth : {std::size_t{1}, std::size_t{3}, std::size_t{16}}) {
            OrderedPrefetcher<std::string> q(40, workers, depth, make_item);
            std::vector<std::string> got;
            std::string s;
            while (q.next(s)) got.push_back(s);
            EXPECT_EQ(got, reference) << workers << " workers, depth " << depth;
            EXPECT_FALSE(q.next(s));
        }
}

TEST(Prefetch, NeverRunsMoreThanDepthAhead) {
    std::mutex m;
    std::size_t highest = 0;
    OrderedPrefetcher<std::size_t> q(50, 4, 5, [&](std::size_t i) {
        std::lock_guard<std::mutex> lock(m);
        highest = std::max(highest, i);
        return i;
    });
    std::size_t v = 0, taken = 0;
    while (q.next(v)) {
        ++taken;
        std::this_thread::sleep_for(std::chrono::microseconds(300));
        std::lock_guard<std::mutex> lock(m);
        EXPECT_LT(highest, taken + 5);  // items claimed only while fewer than `depth` wait untaken
    }
    EXPECT_EQ(taken, 50u);
}

TEST(Prefetch, AnErrorIsRethrownWhenItsItemIsDue) {
    OrderedPrefetcher<int> q(10, 3, 4, [](std::size_t i) -> int {
        if (i == 6) throw std::runtime_error("bad sample 6");
        return static_cast<int>(i);
    });
    int v = -1;
    for (int i = 0; i < 6; ++i) {
        ASSERT_TRUE(q.next(v));
        EXPECT_EQ(v, i);
    }
    try {
        q.next(v);
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "bad sample 6");
    }
}

TEST(Prefetch, StoppingEarlyAndEmptyRunsEnd) {
    {
        OrderedPrefetcher<int> q(1000, 4, 8, [](std::size_t i) { return static_cast<int>(i); });
        int v;
        ASSERT_TRUE(q.next(v));
        EXPECT_EQ(v, 0);
    }  // workers blocked on the depth limit are released by the destructor
    OrderedPrefetcher<int> empty(0, 3, 2, [](std::size_t) { return 1; });
    int v;
    EXPECT_FALSE(empty.next(v));
}

}  // namespace
}  // namespace nodulecad
