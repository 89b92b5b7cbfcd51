#include <gtest/gtest.h>


#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/io/probability_map.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

Geometry line(std::int64_t n) {
    Geometry g;
    g.size = {n, 1, 1};
    return g;
}

TEST(ProbabilityMap, Uint8VolumesHoldProbabilityTimes255) {
    Volume<std::uint8_t> q(line(2));
    q.voxels = {255, 51};
    const Volume<float> p = probability_volume(AnyVolume(q));
    EXPECT_FLOAT_EQ(p.voxels[0], 1.0f);
    EXPECT_FLOAT_EQ(p.voxels[1], 0.2f);
}

TEST(ProbabilityMap, ThresholdUint8AndFloatMapsAlike) {
    Volume<std::uint8_t> q(line(3));
    q.voxels = {127, 128, 255};
    EXPECT_EQ(threshold_probability(AnyVolume(q), 0.5).voxels, (std::vector<std::uint8_t>{0, 1, 1}));  // 0.5 * 255 = 127.5
    Volume<float> f(line(3));
    f.voxels = {0.49f, 0.5f, 0.9f};
    EXPECT_EQ(threshold_probability(AnyVolume(f), 0.5).voxels, (std::vector<std::uint8_t>{0, 1, 1}));
}

// What `predict --float` writes must not be read as bytes (a float 0.9 is not 0.9 / 255).
TEST(ProbabilityMap, FloatFilesReadAsProbabilities) {
    const test::TempDir dir;
    Volume<float> f(line(3));
    f.voxels = {0.1f, 0.6f, 1.0f};
    const std::string path = dir.path("u_prob.mhd");
    write_metaimage(path, f);
    const Volume<float> p = read_probability_volume(path);
    EXPECT_EQ(p.voxels, f.voxels);
    EXPECT_EQ(threshold_probability(read_metaimage(path), 0.5).voxels, (std::vector<std::uint8_t>{0, 1, 1}));
}

}  // namespace
}  // namespace nodulecad
