#include <gtest/gtest.h>

#include <cmath>

#include "nodulecad/preprocess/slice_grid.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

TEST(SliceGrid, PaintedSquareGoesBackToTheRightVoxelsOnAnyDirection) {
    for (const auto& [name, d] : test::test_directions()) {
        if (d[2] != 0 || d[5] != 0 || d[6] != 0 || d[7] != 0) continue;  // axial slices only (diag and flips)
        SCOPED_TRACE(name);
        Geometry g;
        g.size = {60, 50, 5};
        g.spacing = {0.8, 0.8, 2};
        g.direction = d;
        // Centre the volume on world (20, -20) whatever the direction, so it covers the painted square.
        const Vec3 half = multiply(d, Vec3{29.5 * 0.8, 24.5 * 0.8, 2 * 2});
        g.origin = {20 - half[0], -20 - half[1], -100 - half[2]};
        const SliceGrid grid{-5.0, -40.0, 1.0, 64};
        // A square of ones covering world x in [15, 25], y in [-25, -15] on the grid.
        std::vector<float> values(64 * 64, 0.f);
        for (int v = 15; v <= 25; ++v)
            for (int u = 20; u <= 30; ++u) values[static_cast<std::size_t>(v * 64 + u)] = 1.f;
        std::vector<float> slice(60 * 50);
        unsample_slice(values.data(), grid, g, 2, slice.data());
        int inside = 0;
        for (std::int64_t j = 0; j < 50; ++j)
            for (std::int64_t i = 0; i < 60; ++i) {
                const Vec3 w = index_to_world(g, {double(i), double(j), 2});
                const bool in = w[0] >= 15 && w[0] <= 25 && w[1] >= -25 && w[1] <= -15;
                const bool clearly_out = w[0] < 14 || w[0] > 26 || w[1] < -26 || w[1] > -14;
                const float s = slice[static_cast<std::size_t>(j * 60 + i)];
                if (in) {
                    EXPECT_FLOAT_EQ(s, 1.f) << i << "," << j;
                    ++inside;
                }
                if (clearly_out) {
                    EXPECT_FLOAT_EQ(s, 0.f) << i << "," << j;
                }
            }
        EXPECT_GT(inside, 100);
    }
}

TEST(SliceGrid, SampleThenUnsampleIsIdentityOnTheScanGrid) {
    // A grid with the scan's own pixels, aligned to its voxels: sampling a mask and mapping back returns it.
    Geometry g;
    g.size = {32, 32, 3};
    g.spacing = {1.5, 1.5, 2};
    g.origin = {40, 30, 0};
    g.direction = {-1, 0, 0, 0, -1, 0, 0, 0, 1};
    Volume<std::uint8_t> mask(g, 0);
    for (std::int64_t j = 5; j < 20; ++j)
        for (std::int64_t i = 8; i < 14; ++i) mask.at(i, j, 1) = 1;
    const Vec3 corner = index_to_world(g, {31, 31, 0});  // smallest world x, y
    const SliceGrid grid{corner[0], corner[1], 1.5, 32};
    std::vector<std::uint8_t> sampled(32 * 32);
    sample_mask(mask, grid, 1, sampled.data());
    std::vector<float> values(sampled.begin(), sampled.end());
    std::vector<float> back(32 * 32);
    unsample_slice(values.data(), grid, g, 1, back.data());
    for (std::int64_t n = 0; n < 32 * 32; ++n) ASSERT_FLOAT_EQ(back[static_cast<std::size_t>(n)], mask.voxels[static_cast<std::size_t>(32 * 32 + n)]);
}

}  // namespace
}  // namespace nodulecad
