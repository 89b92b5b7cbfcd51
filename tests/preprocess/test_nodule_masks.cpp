#include <gtest/gtest.h>

#include <cmath>

#include "nodulecad/core/math.hpp"
#include "nodulecad/preprocess/nodule_masks.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {


Geometry scan_geometry(const Mat3& d) {
    Geometry g;
    g.size = {80, 70, 40};
    g.spacing = {0.7, 0.7, 1.25};
    g.origin = {-20, 10, -300};
    g.direction = d;
    return g;
}

struct Stats {
    std::int64_t count = 0;
    Vec3 centre{};
};

Stats stats(const Volume<std::uint8_t>& m, std::uint8_t label) {
    Stats s;
    const IndexWorldTransform t(m.geometry);
    for (std::int64_t k = 0; k < m.geometry.size[2]; ++k)
        for (std::int64_t j = 0; j < m.geometry.size[1]; ++j)
            for (std::int64_t i = 0; i < m.geometry.size[0]; ++i)
                if (m.at(i, j, k) == label) {
                    const Vec3 w = t.to_world({double(i), double(j), double(k)});
                    for (int a = 0; a < 3; ++a) s.centre[a] += w[a];
                    ++s.count;
                }
    for (double& c : s.centre) c /= static_cast<double>(std::max<std::int64_t>(1, s.count));
    return s;
}

TEST(NoduleMasks, BallOfHalfTheDiameterThroughAnyDirection) {
    for (const auto& [name, d] : test::test_directions()) {
        SCOPED_TRACE(name);
        const Geometry g = scan_geometry(d);
        // Put the nodule at the world position of a known voxel so it is inside the volume for every direction.
        const Vec3 centre = index_to_world(g, {40.3, 35.6, 20.2});
        const Annotation a{"u", centre, 10.0};
        const Volume<std::uint8_t> m = nodule_mask(g, {a});
        const Stats s = stats(m, 1);
        const double expected = 4.0 / 3.0 * kPi * 125 / (0.7 * 0.7 * 1.25);
        EXPECT_NEAR(static_cast<double>(s.count), expected, 0.05 * expected);
        for (int ax = 0; ax < 3; ++ax) EXPECT_NEAR(s.centre[ax], centre[ax], 0.3);
        // Voxels just inside and just outside the radius along world x.
        const Vec3 in = world_to_index(g, {centre[0] + 4.6, centre[1], centre[2]});
        const Vec3 out = world_to_index(g, {centre[0] + 5.6, centre[1], centre[2]});
        EXPECT_EQ(m.at(std::llround(in[0]), std::llround(in[1]), std::llround(in[2])), 1);
        EXPECT_EQ(m.at(std::llround(out[0]), std::llround(out[1]), std::llround(out[2])), 0);
    }
}

TEST(NoduleMasks, ProblemsNameCentresOutsideTheScanAndNonPositiveDiameters) {
    for (const auto& [name, d] : test::test_directions()) {
        SCOPED_TRACE(name);
        const Geometry g = scan_geometry(d);
        // Inside: a voxel's centre, and the outer half of the last voxel on each axis; outside: just beyond it.
        const Annotation inside{"u", index_to_world(g, {40, 35, 20}), 6.0};
        const Annotation edge{"u", index_to_world(g, {79.45, -0.45, 39.45}), 6.0};
        const Annotation beyond{"u", index_to_world(g, {79.6, 10, 10}), 6.0};
        const Annotation below{"u", index_to_world(g, {10, 10, -0.6}), 6.0};
        EXPECT_TRUE(annotation_problems(g, {inside, edge}).empty());
        const auto p = annotation_problems(g, {beyond, inside, below});
        ASSERT_EQ(p.size(), 2u);
        EXPECT_NE(p[0].find("lies outside the scan (voxel (80, 10, 10) of 80x70x40)"), std::string::npos) << p[0];
        EXPECT_NE(p[1].find("voxel (10, 10, -1) of 80x70x40"), std::string::npos) << p[1];
    }
    const Geometry g = scan_geometry(identity3());
    const auto p = annotation_problems(g, {{"u", index_to_world(g, {1, 2, 3}), 0}, {"u", index_to_world(g, {1, 2, 3}), -1}});
    ASSERT_EQ(p.size(), 2u);
    EXPECT_NE(p[0].find("has diameter 0 mm: not drawn in any mask"), std::string::npos) << p[0];
    EXPECT_NE(p[1].find("has diameter -1 mm"), std::string::npos) << p[1];
}

TEST(NoduleMasks, LegacyRadiusIsTheDiameterAndLabelsAreInstances) {
    const Geometry g = scan_geometry(Mat3{-1, 0, 0, 0, -1, 0, 0, 0, 1});
    const Vec3 c1 = index_to_world(g, {20, 20, 20}), c2 = index_to_world(g, {60, 50, 20});
    const std::vector<Annotation> rows{{"u", c1, 6.0}, {"u", c2, 8.0}};
    const Volume<std::uint8_t> m = nodule_mask(g, rows);
    EXPECT_GT(stats(m, 1).count, 0);
    EXPECT_GT(stats(m, 2).count, 0);
    NoduleMaskOptions legacy;
    legacy.legacy_radius = true;
    legacy.instance_labels = false;
    const Volume<std::uint8_t> l = nodule_mask(g, {rows[0]}, legacy);
    // Radius = diameter: eight times the volume.
    EXPECT_NEAR(static_cast<double>(stats(l, 1).count) / static_cast<double>(stats(m, 1).count), 8.0, 0.8);
}

TEST(NoduleMasks, SmallNodulesDrawnAtTheMinimumDiameterAndLargerOnesAsAnnotated) {
    for (const auto& [name, d] : test::test_directions()) {
        SCOPED_TRACE(name);
        const Geometry g = scan_geometry(d);
        const Vec3 small = index_to_world(g, {20.4, 20.2, 20.3}), large = index_to_world(g, {55.6, 45.1, 20.7});
        const std::vector<Annotation> rows{{"u", small, 3.5}, {"u", large, 8.0}};
        NoduleMaskOptions o;
        o.min_diameter_mm = 6.0;
        const Volume<std::uint8_t> m = nodule_mask(g, rows, o);
        const Volume<std::uint8_t> plain = nodule_mask(g, rows);
        // The 3.5-mm nodule becomes a 6-mm ball about the same centre: (6 / 3.5)^3 = 5.0 times the voxels.
        const Stats s = stats(m, 1), p = stats(plain, 1);
        const double expected = 4.0 / 3.0 * kPi * 27 / (0.7 * 0.7 * 1.25);
        EXPECT_NEAR(static_cast<double>(s.count), expected, 0.08 * expected);
        EXPECT_LT(p.count * 4, s.count);
        for (int ax = 0; ax < 3; ++ax) EXPECT_NEAR(s.centre[ax], small[ax], 0.3);
        const Vec3 in = world_to_index(g, {small[0] + 2.7, small[1], small[2]});
        EXPECT_EQ(m.at(std::llround(in[0]), std::llround(in[1]), std::llround(in[2])), 1);
        // The 8-mm one, above the minimum, is the same voxels with or without it.
        EXPECT_EQ(stats(m, 2).count, stats(plain, 2).count);
        for (std::size_t v = 0; v < m.voxels.size(); ++v) {
            if (plain.voxels[v] == 2 || m.voxels[v] == 2) {
                ASSERT_EQ(m.voxels[v], plain.voxels[v]) << v;
            }
        }
    }
}

TEST(NoduleMasks, NodulesAtTheEdgeAreClippedAndUnknownDiametersSkipped) {
    const Geometry g = scan_geometry(identity3());
    const Volume<std::uint8_t> m = nodule_mask(g, {{"u", g.origin, 10.0}, {"u", index_to_world(g, {40, 35, 20}), -1}});
    const Stats s = stats(m, 1);
    EXPECT_GT(s.count, 0);  // the part inside the volume
    EXPECT_EQ(stats(m, 2).count, 0);
}

}  // namespace
}  // namespace nodulecad
