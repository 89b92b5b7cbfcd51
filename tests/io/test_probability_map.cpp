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

TEST(ProbabilityMap, ViewsReadWhatTheFloatCopyHolds) {
    // Every byte value, on a 16 x 4 x 4 volume: the view of the uint8 volume reads, voxel by voxel and by index,
    // exactly the floats probability_volume makes of it; a float volume's view reads it as it is; another kind is
    // converted into the storage given.
    Geometry g;
    g.size = {16, 4, 4};
    Volume<std::uint8_t> q(g);
    for (std::size_t n = 0; n < q.voxels.size(); ++n) q.voxels[n] = static_cast<std::uint8_t>(n * 7 % 256);
    const Volume<float> p = probability_volume(AnyVolume(q));
    const ProbabilityView bytes(q), floats(p);
    ASSERT_EQ(bytes.size(), p.voxels.size());
    for (std::size_t n = 0; n < p.voxels.size(); ++n) {
        ASSERT_EQ(bytes[n], p.voxels[n]) << n;
        ASSERT_EQ(floats[n], p.voxels[n]) << n;
    }
    EXPECT_EQ(bytes.at(3, 2, 1), p.at(3, 2, 1));
    EXPECT_EQ(bytes.at(15, 3, 3), p.voxels.back());
    for (int b = 0; b < 256; ++b) EXPECT_EQ(byte_probability(static_cast<std::uint8_t>(b)), static_cast<float>(b) / 255.0f) << b;
    Volume<float> storage;
    EXPECT_EQ(probability_view(AnyVolume(q), storage)[5], p.voxels[5]);
    EXPECT_TRUE(storage.voxels.empty());  // uint8 needs no copy
    Volume<std::int16_t> other(g, 1);
    const AnyVolume any_other(other);
    EXPECT_EQ(probability_view(any_other, storage)[7], 1.0f);
    EXPECT_EQ(storage.voxels.size(), p.voxels.size());
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
