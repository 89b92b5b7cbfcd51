// Where a 3D training patch reads its box (train/patch_place): symmetries, zoom and contrast, the image and the
// nodules' positions and sizes moved alike; and the 3D trainer's augmentation options.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "nodulecad/core/error.hpp"
#include "nodulecad/train/patch_place.hpp"
#include "nodulecad/train/train_detector3d.hpp"

namespace nodulecad {
namespace {

constexpr double kPi = 3.14159265358979323846;

// A 64^3 box holding a solid ball (255 inside, a one-voxel soft edge, 0 outside) of radius r at c.
std::vector<std::uint8_t> ball_box(const std::array<double, 3>& c, double r) {
    std::vector<std::uint8_t> v(64 * 64 * 64);
    for (int k = 0; k < 64; ++k)
        for (int j = 0; j < 64; ++j)
            for (int i = 0; i < 64; ++i) {
                const double d = std::sqrt((i - c[0]) * (i - c[0]) + (j - c[1]) * (j - c[1]) + (k - c[2]) * (k - c[2]));
                v[static_cast<std::size_t>(i + 64 * (j + 64 * k))] = static_cast<std::uint8_t>(std::lround(255 * std::clamp(r + 0.5 - d, 0.0, 1.0)));
            }
    return v;
}

// The patch's ball: its weight (voxels of value 1 above air) and centroid, in patch voxels.
struct Moments {
    double volume = 0;
    std::array<double, 3> centroid{};
};
Moments moments(const std::vector<float>& patch, int side) {
    Moments m;
    for (int z = 0; z < side; ++z)
        for (int y = 0; y < side; ++y)
            for (int x = 0; x < side; ++x) {
                const double w = (patch[static_cast<std::size_t>((z * side + y) * side + x)] + 1) / 2;
                m.volume += w;
                m.centroid[0] += w * x, m.centroid[1] += w * y, m.centroid[2] += w * z;
            }
    for (double& c : m.centroid) c /= m.volume;
    return m;
}

std::vector<PatchPlace> every_symmetry(PatchPlace p) {
    std::vector<PatchPlace> out;
    for (int s = 0; s < 16; ++s) {
        p.flip = {(s & 1) != 0, (s & 2) != 0, (s & 4) != 0};
        p.swap_xy = (s & 8) != 0;
        out.push_back(p);
    }
    return out;
}

TEST(PatchPlace, UnzoomedPatchesAreTheBoxVoxelsUnderEachSymmetry) {
    const std::vector<std::uint8_t> voxels = ball_box({30.2, 27.6, 33.9}, 5);
    std::vector<std::uint8_t> ramp(voxels.size());
    for (std::size_t i = 0; i < ramp.size(); ++i) ramp[i] = static_cast<std::uint8_t>((i * 7 + i / 64) % 251);  // no symmetry of its own
    const BoxView box{ramp.data(), {64, 64, 64}};
    PatchPlace base;
    base.origin = {20, 12, -3};  // partly outside: reads as air
    const int P = 16;
    std::vector<float> patch(P * P * P);
    for (const PatchPlace& p : every_symmetry(base)) {
        sample_patch(p, P, box, patch.data());
        for (int z = 0; z < P; ++z)
            for (int y = 0; y < P; ++y)
                for (int x = 0; x < P; ++x) {
                    // The box voxel under (x, y, z): undo the flips, then the transpose, then add the origin.
                    std::array<int, 3> q{p.flip[0] ? P - 1 - x : x, p.flip[1] ? P - 1 - y : y, p.flip[2] ? P - 1 - z : z};
                    if (p.swap_xy) std::swap(q[0], q[1]);
                    const std::uint8_t v = box.at(base.origin[0] + q[0], base.origin[1] + q[1], base.origin[2] + q[2]);
                    ASSERT_EQ(patch[static_cast<std::size_t>((z * P + y) * P + x)], static_cast<float>(v) / 127.5f - 1.f);
                    // and the map there and back
                    const auto b = patch_to_box(p, P, {double(x), double(y), double(z)});
                    ASSERT_EQ(b[0], base.origin[0] + q[0]);
                    ASSERT_EQ(b[2], base.origin[2] + q[2]);
                    const auto back = box_to_patch(p, P, b);
                    ASSERT_EQ(back[0], x);
                    ASSERT_EQ(back[1], y);
                    ASSERT_EQ(back[2], z);
                }
    }
}

TEST(PatchPlace, ZoomedPatchesShowTheBallWhereAndAsLargeAsTheMapSays) {
    const std::array<double, 3> centre{30.3, 27.8, 33.4};
    const double r = 5;
    const std::vector<std::uint8_t> voxels = ball_box(centre, r);
    const BoxView box{voxels.data(), {64, 64, 64}};
    const int P = 32;
    std::vector<float> patch(P * P * P);
    for (double scale : {0.8, 1.0, 1.25}) {
        PatchPlace base;
        base.origin = {12, 10, 20};  // the ball off the patch's centre in every axis
        base.scale = scale;
        for (const PatchPlace& p : every_symmetry(base)) {
            sample_patch(p, P, box, patch.data());
            const Moments m = moments(patch, P);
            const auto expected = box_to_patch(p, P, centre);
            for (std::size_t a = 0; a < 3; ++a) EXPECT_NEAR(m.centroid[a], expected[a], 0.05) << "scale " << scale << " axis " << a;
            // The ball's volume as the patch shows it: a radius of r / scale.
            const double volume = 4.0 / 3.0 * kPi * std::pow(r / scale, 3);
            EXPECT_NEAR(m.volume, volume, 0.04 * volume) << "scale " << scale;
            // What the trainer paints as the nodule's target: the same centre, and the diameter the ball shows
            // (its equivalent sphere's, within 1.5 %: the volume's 4 % on a cube root).
            const PatchNodule n = nodule_in_patch(p, P, centre, 2 * r);
            for (std::size_t a = 0; a < 3; ++a) EXPECT_EQ(n.centre[a], expected[a]);
            EXPECT_NEAR(n.diameter_mm, 2 * std::cbrt(m.volume * 3.0 / (4.0 * kPi)), 0.015 * n.diameter_mm) << "scale " << scale;
        }
        // Zoomed: the ball's centre moves towards (scale > 1) or away from (scale < 1) the patch's centre.
        const auto q = box_to_patch(base, P, centre);
        const double c = 0.5 * (P - 1);
        EXPECT_NEAR(q[0] - c, (centre[0] - static_cast<double>(base.origin[0]) - c) / scale, 1e-12);
    }
}

TEST(PatchPlace, ContrastScalesTheWindowAboutAir) {
    const std::vector<std::uint8_t> v{0, 255, 102};
    const BoxView box{v.data(), {3, 1, 1}};
    PatchPlace p;
    p.origin = {0, 0, 0};
    p.contrast = 0.8;
    std::vector<float> out(1);
    const auto value_at = [&](std::int64_t i) {
        p.origin[0] = i;
        sample_patch(p, 1, box, out.data());
        return out[0];
    };
    EXPECT_FLOAT_EQ(value_at(0), -1.f);          // air stays air
    EXPECT_FLOAT_EQ(value_at(1), 0.6f);          // 1 -> -1 + 2 * 0.8
    EXPECT_NEAR(value_at(2), -1 + 0.8 * 102 / 127.5, 1e-6);
}

TEST(PatchPlace, TheTrainersAugmentationOptionsAreCheckedAndKeptOnlyWhenOn) {
    Detector3dTrainOptions o;
    o.run.run_dir = "unused";
    EXPECT_NO_THROW(o.check());
    nlohmann::json j = o;
    EXPECT_FALSE(j.contains("scale_augment"));  // a run without them keeps its options, and so its stage key
    EXPECT_FALSE(j.contains("contrast_augment"));
    o.scale_augment = 0.25;
    o.contrast_augment = 0.1;
    j = o;
    Detector3dTrainOptions back;
    from_json(j, back);
    EXPECT_EQ(back.scale_augment, 0.25);
    EXPECT_EQ(back.contrast_augment, 0.1);
    o.scale_augment = 1.5;
    EXPECT_THROW(o.check(), OptionError);
    o.scale_augment = 0.25;
    o.contrast_augment = -0.1;
    EXPECT_THROW(o.check(), OptionError);
}

}  // namespace
}  // namespace nodulecad
