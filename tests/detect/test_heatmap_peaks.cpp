// Candidates from a centre heatmap: local maxima, strongest first, apart, sized; and on a resampled grid they come
// back in world mm within half a voxel on every test direction matrix. The same for the segmentation head's
// components, and their threshold, cap and diameter.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "nodulecad/core/error.hpp"
#include "nodulecad/detect/heatmap_peaks.hpp"
#include "nodulecad/preprocess/resample.hpp"
#include "preprocess/ball_scan.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

// A ball scan on direction matrix `d`, resampled to 1 mm (the scan's geometry kept), its HU mapped to [0, 1]: a map
// whose only maximum and only bright region is the ball.
Volume<float> ball_map(const Mat3& d, const Vec3& ball) {
    const Volume<float> r = resample_to_spacing(test::scan_with_ball(d, ball), {1, 1, 1}, 2);
    Volume<float> map(r.geometry, 0.f);
    for (std::size_t n = 0; n < r.voxels.size(); ++n) map.voxels[n] = (r.voxels[n] + 1000.f) / 1040.f;
    return map;
}

TEST(HeatmapPeaks, ComeBackInWorldMmOnEveryDirectionOfAResampledScan) {
    const Vec3 ball{12.3, -40.6, 75.2};
    for (const auto& [name, d] : test::test_directions()) {
        const Volume<float> heat = ball_map(d, ball);
        PeakOptions o;
        o.threshold = 0.5;
        const auto peaks = heatmap_peaks("s", heat, Volume<float>(), o);
        ASSERT_EQ(peaks.size(), 1u) << name;
        const Vec3& w = peaks[0].candidate.world;
        EXPECT_LT(std::hypot(w[0] - ball[0], w[1] - ball[1], w[2] - ball[2]), 0.5) << name;
        EXPECT_TRUE(std::isnan(peaks[0].candidate.diameter_mm));
    }
}

TEST(HeatmapPeaks, StrongestFirstApartAndSized) {
    Geometry g;
    g.size = {20, 20, 20};
    g.spacing = {2, 2, 2};
    Volume<float> heat(g, 0.f), size(g, 0.f);
    const auto set = [&](Volume<float>& v, std::int64_t i, std::int64_t j, std::int64_t k, float x) { v.voxels[static_cast<std::size_t>((k * 20 + j) * 20 + i)] = x; };
    set(heat, 5, 5, 5, 0.9f), set(size, 5, 5, 5, 7.5f);
    set(heat, 6, 5, 5, 0.8f);                             // 2 mm from the first: not a peak (a neighbour is higher)
    set(heat, 7, 5, 5, 0.85f), set(size, 7, 5, 5, 3.f);   // a peak, but 4 mm away: closer than min_distance 5 mm
    set(heat, 15, 15, 15, 0.3f), set(size, 15, 15, 15, 4.f);
    set(heat, 2, 15, 3, 0.04f);                          // under the threshold
    PeakOptions o;
    o.min_distance_mm = 5;
    auto p = heatmap_peaks("s", heat, size, o);
    ASSERT_EQ(p.size(), 2u);
    EXPECT_FLOAT_EQ(static_cast<float>(p[0].candidate.probability), 0.9f);
    EXPECT_DOUBLE_EQ(p[0].candidate.diameter_mm, 7.5);
    EXPECT_DOUBLE_EQ(p[1].candidate.diameter_mm, 4.0);
    EXPECT_DOUBLE_EQ(p[1].candidate.world[0], 30.0);
    o.max_per_scan = 1;
    EXPECT_EQ(heatmap_peaks("s", heat, size, o).size(), 1u);
}

TEST(SegmentationComponents, ComeBackInWorldMmOnEveryDirectionOfAResampledScan) {
    const Vec3 ball{12.3, -40.6, 75.2};
    for (const auto& [name, d] : test::test_directions()) {
        const Volume<float> prob = ball_map(d, ball);
        const auto found = segmentation_components("s", prob, PeakOptions{});
        ASSERT_EQ(found.size(), 1u) << name;
        const Vec3& w = found[0].candidate.world;
        EXPECT_LT(std::hypot(w[0] - ball[0], w[1] - ball[1], w[2] - ball[2]), 0.5) << name;
        EXPECT_GT(found[0].candidate.diameter_mm, 0) << name;
    }
}

TEST(SegmentationComponents, ThresholdCapDiameterAndStableKeys) {
    Geometry g;
    g.size = {20, 20, 20};
    g.spacing = {2, 2, 2};
    Volume<float> prob(g, 0.f);
    const auto set = [&](std::int64_t i, std::int64_t j, std::int64_t k, float x) { prob.voxels[static_cast<std::size_t>((k * 20 + j) * 20 + i)] = x; };
    for (std::int64_t k = 4; k < 6; ++k)  // a 2x2x2 block: 8 voxels of 8 mm^3, one component
        for (std::int64_t j = 4; j < 6; ++j)
            for (std::int64_t i = 4; i < 6; ++i) set(i, j, k, 0.9f);
    set(15, 15, 15, 0.6f);
    set(2, 15, 3, 0.4f);  // under the default threshold
    auto found = segmentation_components("s", prob, PeakOptions{});
    ASSERT_EQ(found.size(), 2u);
    EXPECT_FLOAT_EQ(static_cast<float>(found[0].candidate.probability), 0.9f);
    EXPECT_NEAR(found[0].candidate.world[0], 9.0, 1e-9);  // between voxels 4 and 5
    EXPECT_NEAR(found[0].candidate.diameter_mm, std::cbrt(6 * 64 / M_PI), 1e-6);  // the sphere of 64 mm^3
    PeakOptions o;
    o.component_threshold = 0.3;
    EXPECT_EQ(segmentation_components("s", prob, o).size(), 3u);
    o.max_per_scan = 1;
    EXPECT_EQ(segmentation_components("s", prob, o).size(), 1u);
    // The default threshold is not written (earlier stage keys and bundle cards stay the same); another one is, and
    // reads back.
    EXPECT_FALSE(nlohmann::json(PeakOptions{}).contains("component_threshold"));
    PeakOptions back;
    nlohmann::json(o).get_to(back);
    EXPECT_DOUBLE_EQ(back.component_threshold, 0.3);
    o.component_threshold = 1;
    EXPECT_THROW(o.check(), OptionError);
}

}  // namespace
}  // namespace nodulecad
