#include <gtest/gtest.h>

#include <cmath>

#include "nodulecad/core/nonzero_box.hpp"
#include "nodulecad/core/volume.hpp"
#include "nodulecad/core/volume_stats.hpp"

namespace nodulecad {
namespace {

TEST(Volume, XIsFastestInMemory) {
    Geometry g;
    g.size = {4, 3, 2};
    Volume<std::int16_t> v(g, 0);
    ASSERT_EQ(v.voxels.size(), 24u);
    v.at(1, 0, 0) = 1;
    v.at(0, 1, 0) = 2;
    v.at(0, 0, 1) = 3;
    v.at(3, 2, 1) = 4;
    EXPECT_EQ(v.voxels[1], 1);
    EXPECT_EQ(v.voxels[4], 2);
    EXPECT_EQ(v.voxels[12], 3);
    EXPECT_EQ(v.voxels[23], 4);
}

TEST(Volume, ConvertMovesSameTypeAndCastsOthers) {
    Geometry g;
    g.size = {2, 1, 1};
    Volume<std::int16_t> v(g);
    v.voxels = {-1000, 400};
    AnyVolume any = v;
    EXPECT_EQ(element_type_of_volume(any), ElementType::Int16);
    const Volume<float> f = convert_volume<float>(AnyVolume(v));
    EXPECT_FLOAT_EQ(f.voxels[0], -1000.f);
    EXPECT_FLOAT_EQ(f.voxels[1], 400.f);
    const Volume<std::int16_t> same = convert_volume<std::int16_t>(std::move(any));
    EXPECT_EQ(same.voxels, v.voxels);
    EXPECT_EQ(same.geometry, g);
}

TEST(NonzeroBox, HalfOpenBoxOfTheMaskForAnyThreadCount) {
    Geometry g;
    g.size = {7, 6, 5};
    Volume<std::uint8_t> m(g, 0);
    EXPECT_TRUE(nonzero_box(m).empty());
    m.at(2, 4, 1) = 1;
    m.at(5, 1, 3) = 3;  // any nonzero value counts
    m.at(3, 3, 3) = 1;
    for (int threads : {1, 2, 4}) {
        const IndexBox b = nonzero_box(m, threads);
        ASSERT_FALSE(b.empty());
        EXPECT_EQ(b.lo, (std::array<std::int64_t, 3>{2, 1, 1})) << threads;
        EXPECT_EQ(b.hi, (std::array<std::int64_t, 3>{6, 5, 4})) << threads;
    }
    m.voxels.assign(m.voxels.size(), 0);
    m.at(6, 5, 4) = 1;  // the last voxel alone
    const IndexBox last = nonzero_box(m, 3);
    EXPECT_EQ(last.lo, (std::array<std::int64_t, 3>{6, 5, 4}));
    EXPECT_EQ(last.hi, (std::array<std::int64_t, 3>{7, 6, 5}));
}

TEST(VolumeStats, MinMaxMeanAndNonFinite) {
    Geometry g;
    g.size = {5, 1, 1};
    Volume<float> v(g);
    v.voxels = {-1000.f, 0.f, 200.f, std::nanf(""), 1000.f};
    const IntensitySummary s = summarize(v);
    EXPECT_DOUBLE_EQ(s.min, -1000);
    EXPECT_DOUBLE_EQ(s.max, 1000);
    EXPECT_DOUBLE_EQ(s.mean, 50);
    EXPECT_EQ(s.non_finite, 1);
}

}  // namespace
}  // namespace nodulecad
