#include <gtest/gtest.h>

#include <cmath>

#include "nodulecad/evaluate/overlap.hpp"
#include "nodulecad/preprocess/lung_segmentation.hpp"
#include "nodulecad/synth/render.hpp"

namespace nodulecad {
namespace {

struct Case {
    ScanSpec spec;
    RenderedScan truth;
    LungSegmentation robust;
};

const std::vector<Case>& small_cases() {
    static const auto cases = [] {
        std::vector<Case> out;
        for (int n = 0; n < 8; ++n) {
            Case c;
            c.spec = draw_scan_spec(Preset::Small, 314, n, n % 2 == 1);  // half of them flipped
            c.truth = render_scan(c.spec, 2);
            LungSegmentationOptions o;
            o.threads = 2;
            c.robust = segment_lungs_robust(c.truth.scan, o);
            out.push_back(std::move(c));
        }
        return out;
    }();
    return cases;
}

bool inside(const Volume<std::uint8_t>& m, const Vec3& world) {
    const Vec3 i = world_to_index(m.geometry, world);
    return m.at(std::llround(i[0]), std::llround(i[1]), std::llround(i[2])) != 0;
}

TEST(LungSegmentation, RobustReachesDiceGoalOnSmallScansFlippedOrNot) {
    for (const auto& c : small_cases()) {
        EXPECT_GE(overlap(c.robust.mask, c.truth.lungs).dice(), 0.97) << c.spec.uid << (c.spec.flipped ? " flipped" : "");
        EXPECT_GE(c.robust.components, 1);
        EXPECT_GT(c.robust.airway_voxels, 0);
        EXPECT_TRUE(c.robust.warnings.empty());
    }
}

TEST(LungSegmentation, EveryNoduleInsideJuxtapleuralOnesIncluded) {
    int nodules = 0, juxtapleural = 0;
    for (const auto& c : small_cases())
        for (const auto& a : c.truth.annotations) {
            ++nodules;
            EXPECT_TRUE(inside(c.robust.mask, a.world)) << c.spec.uid;
            std::int64_t in = 0, all = 0;
            for (std::size_t v = 0; v < c.truth.nodules.voxels.size(); ++v)
                if (c.truth.nodules.voxels[v] == a.label) {
                    ++all;
                    in += c.robust.mask.voxels[v] != 0;
                }
            const Finding& f = c.spec.findings[static_cast<std::size_t>(a.finding)];
            juxtapleural += f.juxtapleural;
            // A juxtapleural nodule pokes a little into the chest wall; most of it must be in the mask.
            EXPECT_GE(static_cast<double>(in) / static_cast<double>(all), f.juxtapleural ? 0.7 : 0.95) << c.spec.uid;
        }
    EXPECT_GE(nodules, 5);
    EXPECT_GE(juxtapleural, 1);
}

TEST(LungSegmentation, WithoutClosingJuxtapleuralNodulesAreLost) {
    // The closing is what keeps nodules on the chest wall: switched off, some of their voxels drop out.
    double worst = 1;
    for (const auto& c : small_cases()) {
        LungSegmentationOptions o;
        o.threads = 2;
        o.closing_radius_mm = 0;
        const LungSegmentation open = segment_lungs_robust(c.truth.scan, o);
        for (const auto& a : c.truth.annotations) {
            if (!c.spec.findings[static_cast<std::size_t>(a.finding)].juxtapleural) continue;
            std::int64_t in = 0, all = 0;
            for (std::size_t v = 0; v < c.truth.nodules.voxels.size(); ++v)
                if (c.truth.nodules.voxels[v] == a.label) ++all, in += open.mask.voxels[v] != 0;
            worst = std::min(worst, static_cast<double>(in) / static_cast<double>(all));
        }
    }
    EXPECT_LT(worst, 0.5);
}

TEST(LungSegmentation, TracheaAndMainBronchiAreExcluded) {
    for (const auto& c : small_cases()) {
        const Anatomy& a = c.spec.anatomy;
        EXPECT_FALSE(inside(c.robust.mask, {a.trachea_x, a.trachea_y, a.carina_z + 25})) << c.spec.uid;
        EXPECT_FALSE(inside(c.robust.mask, {a.trachea_x, a.trachea_y, a.z_hi + 5})) << c.spec.uid;
    }
}

TEST(LungSegmentation, SuperiorDirectionComesFromTheGeometry) {
    // The same scan stored with slices in the opposite order (direction z = -1): same world, same mask.
    const Case& c = small_cases()[0];
    Geometry g = c.truth.scan.geometry;
    const std::int64_t nz = g.size[2];
    g.origin[2] = g.origin[2] + static_cast<double>(nz - 1) * g.spacing[2];
    g.direction[8] = -1;
    Volume<std::int16_t> reversed(g);
    const std::size_t plane = static_cast<std::size_t>(g.size[0] * g.size[1]);
    for (std::int64_t k = 0; k < nz; ++k)
        std::copy_n(c.truth.scan.voxels.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(nz - 1 - k) * plane), plane,
                    reversed.voxels.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(k) * plane));
    LungSegmentationOptions o;
    o.threads = 2;
    const LungSegmentation r = segment_lungs_robust(reversed, o);
    for (std::int64_t k = 0; k < nz; ++k)
        ASSERT_TRUE(std::equal(r.mask.voxels.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(k) * plane),
                               r.mask.voxels.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(k + 1) * plane),
                               c.robust.mask.voxels.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(nz - 1 - k) * plane)))
            << "slice " << k;
}

TEST(LungSegmentation, DemoAndFullPresetsReachTheGoalToo) {
    for (const auto& [preset, index] : {std::pair{Preset::Demo, 0}, std::pair{Preset::Full, 5}}) {
        const ScanSpec s = draw_scan_spec(preset, 2026, index, true);
        const RenderedScan t = render_scan(s, 2);
        LungSegmentationOptions o;
        o.threads = 2;
        const LungSegmentation r = segment_lungs_robust(t.scan, o);
        EXPECT_GE(overlap(r.mask, t.lungs).dice(), 0.97) << preset_name(preset);
        for (const auto& a : t.annotations) EXPECT_TRUE(inside(r.mask, a.world)) << preset_name(preset);
    }
}

TEST(LungSegmentation, SeedRecipeIsDeterministicAndWorse) {
    for (const auto& c : std::vector<const Case*>{&small_cases()[0], &small_cases()[1]}) {
        const LungSegmentation a = segment_lungs_seed(c->truth.scan, 1), b = segment_lungs_seed(c->truth.scan, 2);
        EXPECT_EQ(a.mask.voxels, b.mask.voxels);
        const double seed = overlap(a.mask, c->truth.lungs).dice(), robust = overlap(c->robust.mask, c->truth.lungs).dice();
        EXPECT_GT(seed, 0.5);  // it finds the lungs...
        EXPECT_LT(seed, robust - 0.05);  // ...but keeps the trachea and overshoots the pleura by its dilations
        // Its mask holds the trachea, which ours removes.
        const Anatomy& an = c->spec.anatomy;
        EXPECT_TRUE(inside(a.mask, {an.trachea_x, an.trachea_y, an.carina_z + 25}));
    }
}

TEST(LungSegmentation, NoLungsGivesAWarningNotACrash) {
    Geometry g;
    g.size = {32, 32, 8};
    Volume<std::int16_t> tissue(g, 40);  // soft tissue everywhere, air only outside
    for (std::int64_t k = 0; k < 8; ++k)
        for (std::int64_t i = 0; i < 32; ++i) tissue.at(i, 0, k) = -1000;
    const LungSegmentation r = segment_lungs_robust(tissue);
    EXPECT_EQ(r.components, 0);
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_NE(r.warnings[0].find("no lungs found"), std::string::npos);
    for (auto v : r.mask.voxels) ASSERT_EQ(v, 0);
}

}  // namespace
}  // namespace nodulecad
