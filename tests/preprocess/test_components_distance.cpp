#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "nodulecad/preprocess/components.hpp"
#include "nodulecad/preprocess/distance.hpp"

namespace nodulecad {
namespace {

std::vector<std::uint8_t> picture(const std::vector<std::string>& rows) {
    std::vector<std::uint8_t> m;
    for (const auto& r : rows)
        for (char c : r) m.push_back(c == '#' ? 1 : 0);
    return m;
}

TEST(Components, SliceFourAndEightConnectivity) {
    const auto m = picture({"##..#",
                            "##...",
                            "..#..",
                            "..##."});
    const Components four = label_slice(m.data(), 5, 4);
    EXPECT_EQ(four.count, 3);  // the 2x2 block, the lone pixel, the L touching the block only at a corner
    const Components eight = label_slice(m.data(), 5, 4, true);
    EXPECT_EQ(eight.count, 2);
    std::vector<std::int64_t> sizes = eight.size;
    std::sort(sizes.begin(), sizes.end());
    EXPECT_EQ(sizes, (std::vector<std::int64_t>{1, 7}));
}

TEST(Components, VolumeSixConnectivityAndPaint) {
    Geometry g;
    g.size = {4, 3, 3};
    Volume<std::uint8_t> v(g, 0);
    v.at(0, 0, 0) = v.at(1, 0, 0) = 1;      // component A in slice 0
    v.at(1, 0, 1) = 1;                       // joins A through the face below
    v.at(3, 2, 2) = 1;                       // component B, alone
    v.at(2, 1, 2) = 1;                       // diagonal to B only: separate (6-connectivity)
    const Components c = label_volume(v, 2);
    ASSERT_EQ(c.count, 3);
    std::vector<bool> keep(3, false);
    keep[static_cast<std::size_t>(c.label[0])] = true;  // the component of the first run (A)
    Volume<std::uint8_t> out(g, 0);
    paint(c, keep, out.voxels.data(), 7);
    EXPECT_EQ(out.at(0, 0, 0), 7);
    EXPECT_EQ(out.at(1, 0, 1), 7);
    EXPECT_EQ(out.at(3, 2, 2), 0);
    EXPECT_EQ(c.size[static_cast<std::size_t>(c.label[0])], 3);
}

TEST(Distance, MatchesBruteForceWithAnisotropicPixels) {
    std::mt19937 rng(5);
    const std::int64_t nx = 23, ny = 17;
    const double sx = 0.7, sy = 1.3;
    std::vector<std::uint8_t> m(static_cast<std::size_t>(nx * ny));
    for (auto& v : m) v = rng() % 13 == 0;
    std::vector<float> d;
    squared_distance_2d(m.data(), nx, ny, sx, sy, d);
    for (std::int64_t y = 0; y < ny; ++y)
        for (std::int64_t x = 0; x < nx; ++x) {
            double best = 1e30;
            for (std::int64_t v = 0; v < ny; ++v)
                for (std::int64_t u = 0; u < nx; ++u)
                    if (m[static_cast<std::size_t>(v * nx + u)])
                        best = std::min(best, std::pow(static_cast<double>(u - x) * sx, 2) + std::pow(static_cast<double>(v - y) * sy, 2));
            EXPECT_NEAR(d[static_cast<std::size_t>(y * nx + x)], best, 1e-3 * std::max(1.0, best));
        }
}

TEST(Distance, ClosingFillsNarrowNotchesAndKeepsWideBays) {
    // A 40 x 40 square with a 3-pixel-wide notch and a 20-pixel-wide bay cut from its top edge.
    const std::int64_t n = 60;
    std::vector<std::uint8_t> m(static_cast<std::size_t>(n * n), 0);
    for (std::int64_t y = 10; y < 50; ++y)
        for (std::int64_t x = 10; x < 50; ++x) m[static_cast<std::size_t>(y * n + x)] = 1;
    for (std::int64_t y = 10; y < 18; ++y) {
        for (std::int64_t x = 14; x < 17; ++x) m[static_cast<std::size_t>(y * n + x)] = 0;  // notch
        for (std::int64_t x = 25; x < 45; ++x) m[static_cast<std::size_t>(y * n + x)] = 0;  // bay
    }
    close_slice(m.data(), n, n, 1.0, 1.0, 3.0);
    EXPECT_EQ(m[static_cast<std::size_t>(12 * n + 15)], 1);  // notch closed
    EXPECT_EQ(m[static_cast<std::size_t>(11 * n + 35)], 0);  // bay stays open
    EXPECT_EQ(m[static_cast<std::size_t>(5 * n + 30)], 0);   // nothing added outside the shape
}

}  // namespace
}  // namespace nodulecad
