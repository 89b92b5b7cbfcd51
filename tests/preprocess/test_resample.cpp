// Resampling to a millimetre grid keeps origin, direction and the world: the value at a new grid point is the
// scan's at the same world point.
#include <gtest/gtest.h>

#include <cmath>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/geometry.hpp"
#include "nodulecad/preprocess/resample.hpp"
#include "preprocess/ball_scan.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

TEST(Resample, GridKeepsOriginAndDirection) {
    Geometry g;
    g.size = {512, 512, 120};
    g.spacing = {0.7, 0.7, 2.5};
    g.origin = {-180, -170, -300};
    g.direction = test::test_directions().back().second;
    const Geometry r = resampled_geometry(g, {1, 1, 1});
    EXPECT_EQ(r.size, (std::array<std::int64_t, 3>{358, 358, 298}));  // floor(511 * 0.7) + 1, floor(119 * 2.5) + 1
    EXPECT_EQ(r.origin, g.origin);
    EXPECT_EQ(r.direction, g.direction);
    EXPECT_EQ(resampled_geometry(g, {0.5, 0.5, 0.5}).size[2], 596);  // 2.5 mm slices at 0.5 mm: exactly 5 a slice
    EXPECT_THROW(resampled_geometry(g, {1, 0, 1}), Error);
}

TEST(Resample, ValuesAreTheScansAtTheSameWorldPoint) {
    const Vec3 ball{10, -20, 30};
    const auto scan = test::scan_with_ball(identity3(), ball);
    const Volume<float> r = resample_to_spacing(scan, {1, 1, 1}, 2);
    EXPECT_EQ(r.voxels, resample_to_spacing(scan, {1, 1, 1}, 1).voxels);  // any thread count
    // Index (7, 0, 5) on the 1 mm grid is index (10, 0, 2) on the scan's: 7 / 0.7 and 5 / 2.5.
    const auto at = [](const auto& v, std::int64_t i, std::int64_t j, std::int64_t k) {
        return static_cast<double>(v.voxels[static_cast<std::size_t>((k * v.geometry.size[1] + j) * v.geometry.size[0] + i)]);
    };
    EXPECT_DOUBLE_EQ(at(r, 7, 0, 5), at(scan, 10, 0, 2));
}

}  // namespace
}  // namespace nodulecad
