#include <gtest/gtest.h>

#include "nodulecad/evaluate/segmentation_scores.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

Volume<std::uint8_t> two_nodules() {
    Geometry g;
    g.size = {40, 20, 10};
    Volume<std::uint8_t> ref(g, 0);
    for (std::int64_t k = 3; k < 6; ++k)
        for (std::int64_t j = 5; j < 9; ++j) {
            for (std::int64_t i = 5; i < 9; ++i) ref.at(i, j, k) = 1;    // 48 voxels
            for (std::int64_t i = 25; i < 29; ++i) ref.at(i, j, k) = 2;  // 48 voxels
        }
    return ref;
}

TEST(SegmentationScores, PerScanPerNoduleAndOverall) {
    const Volume<std::uint8_t> ref = two_nodules();
    Volume<std::uint8_t> pred(ref.geometry, 0);
    for (std::size_t n = 0; n < ref.voxels.size(); ++n) pred.voxels[n] = ref.voxels[n] == 1;  // only the first nodule
    pred.at(39, 19, 9) = 1;                                                                      // and a stray voxel far away
    const ScanSegScore s = score_segmentation("u", pred, ref);
    EXPECT_EQ(s.overlap.both, 48);
    EXPECT_EQ(s.overlap.only_a, 1);
    EXPECT_EQ(s.overlap.only_b, 48);
    EXPECT_DOUBLE_EQ(s.overlap.dice(), 96.0 / 145);
    ASSERT_EQ(s.nodules.size(), 2u);
    EXPECT_DOUBLE_EQ(s.nodules[0].overlap.dice(), 1.0);  // the stray voxel is outside its box
    EXPECT_DOUBLE_EQ(s.nodules[1].overlap.dice(), 0.0);
    EXPECT_EQ(s.nodules[0].voxels, 48);
    EXPECT_NEAR(s.nodules[0].centre[0], 6.5, 1e-12);
    EXPECT_DOUBLE_EQ(score_segmentation("u", ref, ref).overlap.dice(), 1.0);
    Volume<std::uint8_t> other(Geometry{}, 0);
    test::expect_error([&] { (void)score_segmentation("u", other, ref); }, {"u", "different geometries"});
}

}  // namespace
}  // namespace nodulecad
