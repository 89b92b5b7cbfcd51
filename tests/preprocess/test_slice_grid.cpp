#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "nodulecad/core/random.hpp"

#include "nodulecad/preprocess/slice_grid.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

// A volume of this size and spacing on direction d, its centre at world (20, -20, -100) whatever the direction.
Geometry centred_geometry(const Mat3& d, std::array<std::int64_t, 3> size, Vec3 spacing) {
    Geometry g;
    g.size = size;
    g.spacing = spacing;
    g.direction = d;
    Vec3 half{};
    for (int a = 0; a < 3; ++a) half[a] = static_cast<double>(size[a] - 1) / 2 * spacing[a];
    half = multiply(d, half);
    g.origin = {20 - half[0], -20 - half[1], -100 - half[2]};
    return g;
}

TEST(SliceGrid, PaintedSquareGoesBackToTheRightVoxelsOnAnyDirection) {
    for (const auto& [name, d] : test::test_directions()) {
        if (d[2] != 0 || d[5] != 0 || d[6] != 0 || d[7] != 0) continue;  // axial slices only (diag and flips)
        SCOPED_TRACE(name);
        // Centred on world (20, -20), so the volume covers the painted square.
        const Geometry g = centred_geometry(d, {60, 50, 5}, {0.8, 0.8, 2});
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

// A small scan of random HU and a random lung mask on direction d, centred on world (20, -20), and a grid wider than
// the scan (so some pixels fall outside it).
struct RandomScan {
    Volume<std::int16_t> hu;
    Volume<std::uint8_t> lungs;
};
RandomScan random_scan(const Mat3& d, std::uint64_t seed) {
    const Geometry g = centred_geometry(d, {23, 19, 6}, {0.9, 1.1, 2});
    RandomScan r{Volume<std::int16_t>(g, 0), Volume<std::uint8_t>(g, 0)};
    Rng rng(seed);
    for (auto& v : r.hu.voxels) v = static_cast<std::int16_t>(rng.uniform(-1100, 500));
    for (auto& v : r.lungs.voxels) v = rng.uniform() < 0.6 ? 1 : 0;
    return r;
}

TEST(SliceGrid, ContextChannelsAreTheirSlicesSampledAloneOnAxialDirections) {
    // The channels share where a pixel falls; each must read its own slice and its own slice's lung mask. On axial
    // directions the neighbours' in-plane map is the centre slice's, so each channel equals that slice sampled alone
    // (clamped at the ends: slice 0's channel "below" is slice 0 again).
    for (const auto& [name, d] : test::test_directions()) {
        if (d[2] != 0 || d[5] != 0 || d[6] != 0 || d[7] != 0) continue;
        SCOPED_TRACE(name);
        const RandomScan r = random_scan(d, 5);
        const SliceGrid grid{20 - 16 * 0.7, -20 - 16 * 0.7, 0.7, 33};
        for (const bool mask : {false, true}) {
            const WindowOptions w2{-900, 300, 2, mask};
            const WindowOptions w0{-900, 300, 0, mask};
            const std::size_t P = 33 * 33;
            for (const std::int64_t k : {std::int64_t{0}, std::int64_t{3}, std::int64_t{5}}) {
                std::vector<float> all(5 * P), one(P);
                sample_image(r.hu, &r.lungs, grid, k, w2, all.data());
                int outside = 0, zero = 0;
                for (int c = 0; c < 5; ++c) {
                    const std::int64_t kk = std::clamp<std::int64_t>(k + c - 2, 0, 5);
                    sample_image(r.hu, &r.lungs, grid, kk, w0, one.data());
                    for (std::size_t n = 0; n < P; ++n) {
                        ASSERT_EQ(all[static_cast<std::size_t>(c) * P + n], one[n]) << "k " << k << " channel " << c << " pixel " << n;
                        zero += one[n] == 0;
                    }
                }
                // Pixels off the scan read air (-1000 HU, below the window: 0).
                outside = static_cast<int>(all[0] == 0) + static_cast<int>(all[P - 1] == 0);
                EXPECT_EQ(outside, 2);
                if (mask) {
                    EXPECT_GT(zero, static_cast<int>(5 * P / 3)) << "about 40 % of voxels are outside the lungs";
                }
            }
        }
    }
}

TEST(SliceGrid, UnsampleMatchesTheWorldMapOfEveryVoxelOnAnyDirection) {
    // The inverse map, worked out per row, against each voxel's own world point, bilinear on the grid: on every test
    // direction matrix (flips and rotations included), within float rounding.
    for (const auto& [name, d] : test::test_directions()) {
        SCOPED_TRACE(name);
        const RandomScan r = random_scan(d, 9);
        const Geometry& g = r.hu.geometry;
        const SliceGrid grid{20 - 16 * 0.7, -20 - 16 * 0.7, 0.7, 33};
        std::vector<float> values(33 * 33);
        Rng rng(3);
        for (auto& v : values) v = static_cast<float>(rng.uniform());
        std::vector<float> slice(static_cast<std::size_t>(23 * 19));
        int on_grid = 0;
        for (const std::int64_t k : {std::int64_t{0}, std::int64_t{4}}) {
            unsample_slice(values.data(), grid, g, k, slice.data());
            for (std::int64_t j = 0; j < 19; ++j)
                for (std::int64_t i = 0; i < 23; ++i) {
                    const Vec3 w = index_to_world(g, {double(i), double(j), double(k)});
                    const double fu = (w[0] - grid.x0) / grid.pixel, fv = (w[1] - grid.y0) / grid.pixel;
                    double expected = 0;
                    if (fu >= 1e-9 && fv >= 1e-9 && fu <= 32 - 1e-9 && fv <= 32 - 1e-9) {
                        const auto u = std::min<std::int64_t>(static_cast<std::int64_t>(fu), 31), v = std::min<std::int64_t>(static_cast<std::int64_t>(fv), 31);
                        const double tu = fu - double(u), tv = fv - double(v);
                        const auto at = [&](std::int64_t uu, std::int64_t vv) { return double(values[static_cast<std::size_t>(vv * 33 + uu)]); };
                        expected = (1 - tv) * ((1 - tu) * at(u, v) + tu * at(u + 1, v)) + tv * ((1 - tu) * at(u, v + 1) + tu * at(u + 1, v + 1));
                        ++on_grid;
                    } else if (fu > -1e-9 && fv > -1e-9 && fu < 32 + 1e-9 && fv < 32 + 1e-9) {
                        continue;  // on the grid's very edge: either side of it is right
                    }
                    ASSERT_NEAR(slice[static_cast<std::size_t>(j * 23 + i)], expected, 1e-5) << i << "," << j << "," << k;
                }
        }
        EXPECT_GT(on_grid, 100);
    }
}

}  // namespace
}  // namespace nodulecad
