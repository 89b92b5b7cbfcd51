#include <gtest/gtest.h>

#include <random>

#include "nodulecad/detect/rle.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

TEST(Rle, ReferenceStringsColumnMajorFromOne) {
    // 3 wide, 3 high, rows top to bottom:   1 0 0 / 1 1 0 / 0 1 0
    // numbered down the columns: column 0 is pixels 1-3 (1,1,0), column 1 pixels 4-6 (0,1,1), column 2 pixels 7-9.
    const std::vector<std::uint8_t> m{1, 0, 0, 1, 1, 0, 0, 1, 0};
    EXPECT_EQ(rle_encode(m.data(), 3, 3, 0), "1 2 5 2");
    EXPECT_EQ(rle_encode(m.data(), 3, 3), "");  // fewer than 10 foreground pixels
    // A run continuing from the bottom of one column to the top of the next is one run.
    const std::vector<std::uint8_t> wrap{0, 1, 0, 0, 1, 0};  // 3 wide, 2 high: column 0 (0,0), column 1 (1,1)
    EXPECT_EQ(rle_encode(wrap.data(), 3, 2, 0), "3 2");
    const std::vector<std::uint8_t> edge{0, 1, 1, 0};  // 2x2: column 0 = (0,1), column 1 = (1,0): pixels 2 and 3
    EXPECT_EQ(rle_encode(edge.data(), 2, 2, 0), "2 2");
    EXPECT_EQ(rle_decode("2 2", 2, 2), edge);
}

TEST(Rle, RoundTripsExactly) {
    std::mt19937 rng(9);
    for (int trial = 0; trial < 200; ++trial) {
        const int w = 1 + static_cast<int>(rng() % 40), h = 1 + static_cast<int>(rng() % 40);
        std::vector<std::uint8_t> m(static_cast<std::size_t>(w * h));
        const unsigned density = rng() % 4;
        for (auto& v : m) v = (rng() % 4) < density ? 1 : 0;
        ASSERT_EQ(rle_decode(rle_encode(m.data(), w, h, 0), w, h), m) << w << "x" << h;
    }
}

TEST(Rle, MalformedStringsAreClearErrors) {
    test::expect_error([] { (void)rle_decode("1 2 3", 3, 3, "r.csv:2"); }, {"r.csv:2", "odd number"});
    test::expect_error([] { (void)rle_decode("1 x", 3, 3, "r.csv:3"); }, {"r.csv:3", "'x' is not a whole number"});
    test::expect_error([] { (void)rle_decode("8 5", 3, 3); }, {"outside the 3x3 image"});
    test::expect_error([] { (void)rle_decode("4 2 1 1", 3, 3); }, {"overlaps/precedes"});
    test::expect_error([] { (void)rle_decode("0 1", 3, 3); }, {"outside"});
    EXPECT_EQ(rle_decode("", 2, 2), (std::vector<std::uint8_t>(4, 0)));
}

}  // namespace
}  // namespace nodulecad
