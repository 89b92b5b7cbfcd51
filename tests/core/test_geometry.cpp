#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/geometry.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

Geometry make_geometry(const Mat3& d) {
    Geometry g;
    g.size = {512, 512, 300};
    g.spacing = {0.703125, 0.703125, 1.25};
    g.origin = {-172.899994, -180.0, -339.25};
    g.direction = d;
    return g;
}

TEST(Geometry, IdentityIsOriginPlusSpacingTimesIndex) {
    const Geometry g = make_geometry(identity3());
    const Vec3 w = index_to_world(g, {10, 20, 30});
    EXPECT_DOUBLE_EQ(w[0], -172.899994 + 10 * 0.703125);
    EXPECT_DOUBLE_EQ(w[1], -180.0 + 20 * 0.703125);
    EXPECT_DOUBLE_EQ(w[2], -339.25 + 30 * 1.25);
    EXPECT_EQ(index_to_world(g, {0, 0, 0}), g.origin);
}

TEST(Geometry, Luna16FlippedMatrixNegatesXAndY) {
    // LUNA16 scans with TransformMatrix -1 0 0 0 -1 0 0 0 1: x and y run towards negative world.
    const Geometry g = make_geometry(Mat3{-1, 0, 0, 0, -1, 0, 0, 0, 1});
    const Vec3 w = index_to_world(g, {100, 50, 7});
    EXPECT_DOUBLE_EQ(w[0], -172.899994 - 100 * 0.703125);
    EXPECT_DOUBLE_EQ(w[1], -180.0 - 50 * 0.703125);
    EXPECT_DOUBLE_EQ(w[2], -339.25 + 7 * 1.25);
    const Vec3 back = world_to_index(g, w);
    EXPECT_NEAR(back[0], 100, 1e-9);
    EXPECT_NEAR(back[1], 50, 1e-9);
    EXPECT_NEAR(back[2], 7, 1e-9);
}

TEST(Geometry, DirectionColumnsAreIndexAxes) {
    // D's first column is where index axis i points: (0, 1, 0) here, so one step in i moves +spacing_i along y.
    const Mat3 d{0, -1, 0, 1, 0, 0, 0, 0, 1};
    Geometry g = make_geometry(d);
    const Vec3 w = index_to_world(g, {1, 0, 0});
    EXPECT_DOUBLE_EQ(w[0], g.origin[0]);
    EXPECT_DOUBLE_EQ(w[1], g.origin[1] + g.spacing[0]);
    const Vec3 wj = index_to_world(g, {0, 1, 0});
    EXPECT_DOUBLE_EQ(wj[0], g.origin[0] - g.spacing[1]);
    EXPECT_DOUBLE_EQ(wj[1], g.origin[1]);
}

TEST(Geometry, SameGridToleratesStoragePrecisionOnly) {
    const Geometry g = make_geometry(Mat3{-1, 0, 0, 0, -1, 0, 0, 0, 1});
    Geometry f = g;  // as NIfTI-1 stores it: float32 origin, spacing and direction
    for (int i = 0; i < 3; ++i) f.origin[i] = static_cast<float>(g.origin[i]), f.spacing[i] = static_cast<float>(g.spacing[i]);
    EXPECT_NE(f, g);
    EXPECT_TRUE(same_grid(f, g));
    EXPECT_TRUE(same_grid(g, f));
    Geometry shifted = g;  // a hundredth of a voxel off: another grid
    shifted.origin[2] += 0.01 * g.spacing[0];
    EXPECT_FALSE(same_grid(shifted, g));
    Geometry respaced = g;
    respaced.spacing[1] *= 1.0001;
    EXPECT_FALSE(same_grid(respaced, g));
    Geometry turned = g;
    turned.direction[0] = 1;
    EXPECT_FALSE(same_grid(turned, g));
    Geometry resized = g;
    resized.size[2] += 1;
    EXPECT_FALSE(same_grid(resized, g));
}

TEST(Geometry, RoundTripOnEveryDirection) {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> u(-50, 600);
    for (const auto& [name, d] : test::test_directions()) {
        const Geometry g = make_geometry(d);
        const IndexWorldTransform t(g);
        for (int n = 0; n < 1000; ++n) {
            const Vec3 idx{u(rng), u(rng), u(rng)};
            const Vec3 back = t.to_index(t.to_world(idx));
            for (int a = 0; a < 3; ++a) ASSERT_NEAR(back[a], idx[a], 1e-9) << name;
            const Vec3 w{u(rng) - 300, u(rng) - 300, u(rng) - 300};
            const Vec3 wback = t.to_world(t.to_index(w));
            for (int a = 0; a < 3; ++a) ASSERT_NEAR(wback[a], w[a], 1e-9) << name;
        }
    }
}

TEST(Geometry, MatchesExplicitFormulaForOrthonormalDirections) {
    // For orthonormal D: index = diag(1/spacing) * D^T * (world - origin), computed independently here.
    for (const auto& [name, d] : test::test_directions()) {
        ASSERT_TRUE(is_orthonormal(d)) << name;
        const Geometry g = make_geometry(d);
        const Vec3 w{12.5, -101.25, -200.0};
        const Vec3 rel{w[0] - g.origin[0], w[1] - g.origin[1], w[2] - g.origin[2]};
        const Vec3 idx = world_to_index(g, w);
        for (int a = 0; a < 3; ++a) {
            const double expected = (d[a] * rel[0] + d[3 + a] * rel[1] + d[6 + a] * rel[2]) / g.spacing[a];
            EXPECT_NEAR(idx[a], expected, 1e-9) << name << " axis " << a;
        }
    }
}

TEST(Geometry, NonOrthonormalDirectionStillInvertsExactly) {
    Geometry g = make_geometry(Mat3{1, 0.2, 0, 0, 0.9, 0.1, 0.05, 0, 1.1});
    EXPECT_FALSE(is_orthonormal(g.direction));
    const Vec3 idx{3.5, 400.25, 17};
    const Vec3 back = world_to_index(g, index_to_world(g, idx));
    for (int a = 0; a < 3; ++a) EXPECT_NEAR(back[a], idx[a], 1e-9);
}

TEST(Geometry, InverseAndDeterminant) {
    const Mat3 m{2, 0, 1, 1, 3, 0, 0, 1, 4};
    EXPECT_DOUBLE_EQ(determinant(m), 2 * 12 - 0 + 1 * 1);
    const Mat3 p = multiply(m, inverse(m));
    for (int i = 0; i < 9; ++i) EXPECT_NEAR(p[i], identity3()[i], 1e-15);
    test::expect_error([] { (void)inverse(Mat3{1, 2, 3, 2, 4, 6, 0, 0, 1}); }, {"singular"});
}

TEST(Geometry, ValidateRejectsBadGeometry) {
    Geometry g = make_geometry(identity3());
    g.spacing[1] = 0;
    test::expect_error([&] { validate(g, "scan.mhd"); }, {"scan.mhd", "spacing along j", "positive"});
    g = make_geometry(identity3());
    g.spacing[2] = std::nan("");
    test::expect_error([&] { validate(g, "scan.mhd"); }, {"spacing along k"});
    g = make_geometry(identity3());
    g.size[0] = 0;
    test::expect_error([&] { validate(g, "scan.mhd"); }, {"size along i"});
    g = make_geometry(Mat3{1, 0, 0, 0, 0, 0, 0, 0, 1});
    test::expect_error([&] { validate(g, "scan.mhd"); }, {"scan.mhd", "direction", "singular"});
    g = make_geometry(identity3());
    EXPECT_NO_THROW(validate(g, "scan.mhd"));
}

}  // namespace
}  // namespace nodulecad
