#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <nlohmann/json.hpp>
#include <set>

#include "nodulecad/core/files.hpp"
#include "nodulecad/io/cohort_layout.hpp"
#include "nodulecad/io/npy.hpp"
#include "nodulecad/preprocess/patient_split.hpp"
#include "nodulecad/preprocess/fpr_patches.hpp"
#include "nodulecad/synth/cohort.hpp"
#include "synth/cohort_fixture.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

// A linear HU field is reproduced exactly by trilinear interpolation, so every cube voxel can be predicted from
// its world position: this checks the cube's world axes, spacing and centre on every direction matrix, and the
// turned cubes of the extra nodule views.
TEST(FprPatches, CubeSamplesTheWorldAxesOnEveryDirection) {
    for (const auto& [name, d] : test::test_directions()) {
        SCOPED_TRACE(name);
        Geometry g;
        g.size = {64, 64, 30};
        g.spacing = {1.1, 1.2, 2.5};
        g.origin = {-30, 12, -180};
        g.direction = d;
        const Vec3 centre = index_to_world(g, {31.5, 31.5, 14.5});
        const auto field = [&](const Vec3& w) { return -300 + 10 * (w[0] - centre[0]) - 7 * (w[1] - centre[1]) + 4 * (w[2] - centre[2]); };
        Volume<std::int16_t> scan(g, 0);
        for (std::int64_t k = 0; k < g.size[2]; ++k)
            for (std::int64_t j = 0; j < g.size[1]; ++j)
                for (std::int64_t i = 0; i < g.size[0]; ++i)
                    scan.at(i, j, k) = static_cast<std::int16_t>(std::lround(field(index_to_world(g, {double(i), double(j), double(k)}))));
        PatchOptions o;
        o.patch = 16;
        o.patch_mm = 1.5;
        o.max_shift = 2;
        const int D = o.cube();
        ASSERT_EQ(D, 21);
        const Vec3 w{centre[0] + 0.3, centre[1] - 0.2, centre[2] + 0.7};
        std::vector<std::uint8_t> cube(static_cast<std::size_t>(D * D * D));
        for (const double angle : {0.0, 37.0, 90.0, 211.5}) {
            SCOPED_TRACE(angle);
            extract_cube(scan, w, o, cube.data(), angle);
            const double cs = std::cos(angle * M_PI / 180), sn = std::sin(angle * M_PI / 180);
            int worst = 0;
            for (int c = 0; c < D; ++c)
                for (int b = 0; b < D; ++b)
                    for (int a = 0; a < D; ++a) {
                        const double u = (a - 10) * 1.5, v = (b - 10) * 1.5;
                        const Vec3 p{w[0] + cs * u - sn * v, w[1] + sn * u + cs * v, w[2] + (c - 10) * 1.5};
                        const double expected = std::clamp(255.0 * (field(p) + 1000) / 1400, 0.0, 255.0);
                        worst = std::max(worst, std::abs(int(cube[static_cast<std::size_t>((c * D + b) * D + a)]) - int(std::lround(expected))));
                    }
            EXPECT_LE(worst, 1);  // int16 rounding of the field
        }
    }
}

TEST(FprPatches, NoduleViewsStayWithinAQuarterDiameterAndAreSeeded) {
    const Annotation nodule{"1.2.3", {-40, 25, -110}, 12.0};
    const auto views = nodule_views(nodule, 2, 400, 7);
    ASSERT_EQ(views.size(), 400u);
    double farthest = 0, mean_angle = 0;
    Vec3 mean{};
    for (const auto& v : views) {
        EXPECT_EQ(v.seriesuid, "1.2.3");
        EXPECT_EQ(v.label, 1);
        EXPECT_FALSE(v.val);
        EXPECT_EQ(v.source, FprSource::View);
        EXPECT_FALSE(v.from_candidates());
        EXPECT_GE(v.angle_deg, 0);
        EXPECT_LT(v.angle_deg, 360);
        mean_angle += v.angle_deg / 400;
        double d2 = 0;
        for (std::size_t r = 0; r < 3; ++r) {
            d2 += (v.world[r] - nodule.world[r]) * (v.world[r] - nodule.world[r]);
            mean[r] += (v.world[r] - nodule.world[r]) / 400;
        }
        farthest = std::max(farthest, std::sqrt(d2));
    }
    EXPECT_LE(farthest, 3.0);  // a quarter of 12 mm
    EXPECT_GT(farthest, 2.7);  // the ball is filled out to its edge, not just near the centre
    for (double m : mean) EXPECT_LT(std::abs(m), 0.3);
    EXPECT_NEAR(mean_angle, 180, 20);
    // Seeded by (seed, uid, index): the same call repeats, another nodule index or seed differs.
    const auto again = nodule_views(nodule, 2, 400, 7);
    EXPECT_EQ(again.back().world, views.back().world);
    EXPECT_EQ(again.back().angle_deg, views.back().angle_deg);
    EXPECT_NE(nodule_views(nodule, 3, 1, 7)[0].world, views[0].world);
    EXPECT_NE(nodule_views(nodule, 2, 1, 8)[0].world, views[0].world);
    EXPECT_TRUE(nodule_views(nodule, 2, 0, 7).empty());
}

TEST(FprPatches, OutsideTheScanIsAir) {
    Geometry g;
    g.size = {8, 8, 8};
    Volume<std::int16_t> scan(g, 400);
    PatchOptions o;
    o.patch = 8;
    o.max_shift = 0;
    std::vector<std::uint8_t> cube(9 * 9 * 9);
    extract_cube(scan, {100, 100, 100}, o, cube.data());
    for (auto v : cube) EXPECT_EQ(v, 0);
    extract_cube(scan, {3.5, 3.5, 3.5}, o, cube.data());
    EXPECT_EQ(cube[(4 * 9 + 4) * 9 + 4], 255);  // inside: window top
}

// One bright voxel at offset (dx, dy, dz) from the cube centre: where each view shows it, with and without
// augmentation (positions worked out by hand).
struct Hit {
    int view, plane, u, v;
};
std::vector<Hit> bright(const std::vector<float>& views, int P) {
    std::vector<Hit> out;
    for (std::size_t n = 0; n < views.size(); ++n)
        if (views[n] > 0.5f) {
            const int idx = static_cast<int>(n);
            out.push_back({idx / (3 * P * P), (idx / (P * P)) % 3, idx % P, (idx / P) % P});
        }
    return out;
}

TEST(FprPatches, ViewsCutTheRightPlanesAndAugmentationMovesThem) {
    PatchOptions o;
    o.patch = 8;
    o.slab = 1;
    o.max_shift = 2;
    const int D = o.cube(), h = (D - 1) / 2, P = 8, half = 4;
    std::vector<std::uint8_t> cube(static_cast<std::size_t>(D * D * D), 0);
    const int dx = 2, dy = -1, dz = 1;  // offset of the bright voxel along x, y, z
    cube[static_cast<std::size_t>(((h + dz) * D + (h + dy)) * D + (h + dx))] = 255;
    std::vector<float> views(static_cast<std::size_t>(9 * P * P));

    cube_views(cube.data(), o, Augment{}, views.data());
    auto hits = bright(views, P);
    // axial: plane z = +1 (index 2), u = x, v = y; coronal: plane y = -1 (index 0), u = x, v = z;
    // sagittal: plane x = +2 is outside the +-1 slab, so it is not seen.
    ASSERT_EQ(hits.size(), 2u);
    EXPECT_EQ(hits[0].view, 0);
    EXPECT_EQ(hits[0].plane, 2);
    EXPECT_EQ(hits[0].u, half + dx);
    EXPECT_EQ(hits[0].v, half + dy);
    EXPECT_EQ(hits[1].view, 1);
    EXPECT_EQ(hits[1].plane, 0);
    EXPECT_EQ(hits[1].u, half + dx);
    EXPECT_EQ(hits[1].v, half + dz);

    Augment flip;
    flip.flip = {true, false, true};  // output (x, y, z) shows source (-x, y, -z)
    cube_views(cube.data(), o, flip, views.data());
    hits = bright(views, P);
    ASSERT_EQ(hits.size(), 2u);
    EXPECT_EQ(hits[0].plane, 0);  // z mirrored: plane -1
    EXPECT_EQ(hits[0].u, half - dx);
    EXPECT_EQ(hits[1].u, half - dx);
    EXPECT_EQ(hits[1].v, half - dz);

    Augment turn;
    turn.rotate = 1;  // output q shows source (-q.y, q.x): the voxel is seen at q = (dy, -dx) = (-1, -2)
    cube_views(cube.data(), o, turn, views.data());
    hits = bright(views, P);
    ASSERT_EQ(hits.size(), 2u);
    EXPECT_EQ(hits[0].view, 0);
    EXPECT_EQ(hits[0].u, half + dy);
    EXPECT_EQ(hits[0].v, half - dx);
    EXPECT_EQ(hits[1].view, 2);  // sagittal plane x = -1, u = y = -2, v = z
    EXPECT_EQ(hits[1].plane, 0);
    EXPECT_EQ(hits[1].u, half - dx);
    EXPECT_EQ(hits[1].v, half + dz);

    Augment shift;
    shift.shift = {2, 0, 0};  // output q shows source q + (2, 0, 0): seen at x = 0
    cube_views(cube.data(), o, shift, views.data());
    hits = bright(views, P);
    ASSERT_EQ(hits.size(), 3u);  // now the sagittal plane x = 0 sees it too
    EXPECT_EQ(hits[0].u, half);
    EXPECT_EQ(hits[2].view, 2);
    EXPECT_EQ(hits[2].plane, 1);
    EXPECT_EQ(hits[2].u, half + dy);
    EXPECT_EQ(hits[2].v, half + dz);
}

// The 3d network's input is the cube under the same maps: its planes through the centre are the views' central
// planes, and a bright voxel lands where the map sends it.
TEST(FprPatches, CubeCropIsTheCubeUnderTheSameMapsAsTheViews) {
    PatchOptions o;
    o.patch = 8;
    o.slab = 1;
    o.max_shift = 2;
    const int D = o.cube(), P = 8, half = 4;
    std::vector<std::uint8_t> cube(static_cast<std::size_t>(D * D * D));
    Rng rng(8);
    for (auto& v : cube) v = static_cast<std::uint8_t>(rng.integer(0, 255));
    std::vector<float> views(static_cast<std::size_t>(9 * P * P)), crop(static_cast<std::size_t>(P * P * P));
    const auto at = [&](int x, int y, int z) { return crop[static_cast<std::size_t>((z * P + y) * P + x)]; };
    for (int n = 0; n < 50; ++n) {
        const Augment a = draw_augment(rng, o.max_shift);
        cube_views(cube.data(), o, a, views.data());
        cube_crop(cube.data(), o, a, crop.data());
        for (int v = 0; v < P; ++v)
            for (int u = 0; u < P; ++u) {
                const auto view = [&](int k, int plane) { return views[static_cast<std::size_t>(((k * 3 + plane) * P + v) * P + u)]; };
                ASSERT_EQ(view(0, 1), at(u, v, half));  // axial: u = x, v = y at z = 0
                ASSERT_EQ(view(1, 1), at(u, half, v));  // coronal: u = x, v = z at y = 0
                ASSERT_EQ(view(2, 1), at(half, u, v));  // sagittal: u = y, v = z at x = 0
                ASSERT_EQ(view(0, 2), at(u, v, half + o.slab));
            }
    }
    std::fill(cube.begin(), cube.end(), std::uint8_t{0});
    const int h = (D - 1) / 2, dx = 2, dy = -1, dz = 3;
    cube[static_cast<std::size_t>(((h + dz) * D + (h + dy)) * D + (h + dx))] = 255;
    Augment turn;
    turn.rotate = 1;  // output q shows source (-q.y, q.x): seen at q = (dy, -dx, dz)
    turn.flip[2] = true;  // and z mirrored: q.z = -dz
    cube_crop(cube.data(), o, turn, crop.data());
    EXPECT_FLOAT_EQ(at(half + dy, half - dx, half - dz), 1.0f);
    EXPECT_FLOAT_EQ(std::accumulate(crop.begin(), crop.end(), 0.0f), 1.0f);
}

// The maps averaged at test time: the axial square's four turns, then the same with x mirrored, then all eight
// upside down — a bright voxel off every axis lands on 16 different places, each where those moves put it.
TEST(FprPatches, TestTimeSymmetriesAreTheTurnsAndMirrorsThenUpsideDown) {
    PatchOptions o;
    o.patch = 8;
    o.max_shift = 2;
    const int D = o.cube(), P = 8, half = 4, h = (D - 1) / 2;
    std::vector<std::uint8_t> cube(static_cast<std::size_t>(D * D * D), 0);
    const int dx = 2, dy = -1, dz = 3;
    cube[static_cast<std::size_t>(((h + dz) * D + (h + dy)) * D + (h + dx))] = 255;
    std::vector<float> crop(static_cast<std::size_t>(P * P * P));
    std::set<int> seen;
    for (int s = 0; s < kCubeSymmetries; ++s) {
        SCOPED_TRACE(s);
        const Augment a = cube_symmetry(s);
        EXPECT_EQ(a.shift, (std::array<int, 3>{0, 0, 0}));
        EXPECT_FALSE(a.flip[1]);
        cube_crop(cube.data(), o, a, crop.data());
        // The map reads the source at mirror(turn(q)), so it shows source p at turn^-1(mirror(p)): x and z
        // mirrored first, then the quarter turns, each showing (x, y) at (y, -x) (as above).
        int x = s % 8 >= 4 ? -dx : dx, y = dy;
        const int z = s >= 8 ? -dz : dz;
        for (int k = 0; k < s % 4; ++k) {
            const int t = x;
            x = y;
            y = -t;
        }
        EXPECT_FLOAT_EQ(crop[static_cast<std::size_t>(((half + z) * P + (half + y)) * P + (half + x))], 1.0f);
        seen.insert((z * 16 + y) * 16 + x);
    }
    EXPECT_EQ(seen.size(), 16u);
    const Augment identity = cube_symmetry(0);
    EXPECT_EQ(identity.rotate, 0);
    EXPECT_EQ(identity.flip, (std::array<bool, 3>{false, false, false}));
    test::expect_error([] { (void)cube_symmetry(16); }, {"symmetry must be between 0 and 15, got 16"});
}

TEST(FprPatches, AugmentationStaysInsideTheCube) {
    PatchOptions o;
    o.patch = 6;
    o.slab = 3;
    o.max_shift = 3;
    const int D = o.cube();
    std::vector<std::uint8_t> cube(static_cast<std::size_t>(D * D * D), 7);
    std::vector<float> views(static_cast<std::size_t>(9 * 36)), crop(static_cast<std::size_t>(6 * 6 * 6));
    Rng rng(3);
    for (int n = 0; n < 200; ++n) {
        Augment a = draw_augment(rng, o.max_shift);
        for (int s : a.shift) ASSERT_LE(std::abs(s), 3);
        a.shift = {3, -3, 3};
        cube_views(cube.data(), o, a, views.data());  // ASan / the bounds of `cube` would catch a stray index
        for (float v : views) ASSERT_FLOAT_EQ(v, 7.0f / 255);
        cube_crop(cube.data(), o, a, crop.data());
        for (float v : crop) ASSERT_FLOAT_EQ(v, 7.0f / 255);
    }
}

// Each input becomes one affine map of itself, gain and offset within the documented ranges, both reaching near
// their ends over many draws; amount 0 draws nothing and changes nothing, so runs without it train as before.
TEST(FprPatches, IntensityAugmentationIsOneAffineMapPerInputWithinItsRanges) {
    const std::vector<float> base = {0.0f, 0.1f, 0.25f, 0.5f, 1.0f};
    Rng rng(11), untouched(11);
    std::vector<float> v = base;
    augment_intensity(v.data(), v.size(), 0, rng);
    EXPECT_EQ(v, base);
    EXPECT_EQ(rng.next(), untouched.next());  // no draw
    double lo_gain = 2, hi_gain = 0, lo_offset = 1, hi_offset = -1;
    for (int n = 0; n < 2000; ++n) {
        std::vector<float> w(base);
        augment_intensity(w.data(), w.size(), 0.2, rng);
        const double offset = w[0], gain = w[4] - w[0];  // the images of 0 and 1
        ASSERT_GE(gain, 0.8 - 1e-6);
        ASSERT_LE(gain, 1.2 + 1e-6);
        ASSERT_GE(offset, -0.05 - 1e-6);
        ASSERT_LE(offset, 0.05 + 1e-6);
        for (std::size_t i = 0; i < base.size(); ++i) ASSERT_NEAR(w[i], base[i] * gain + offset, 1e-6);
        lo_gain = std::min(lo_gain, gain), hi_gain = std::max(hi_gain, gain);
        lo_offset = std::min(lo_offset, offset), hi_offset = std::max(hi_offset, offset);
    }
    EXPECT_LT(lo_gain, 0.81);
    EXPECT_GT(hi_gain, 1.19);
    EXPECT_LT(lo_offset, -0.045);
    EXPECT_GT(hi_offset, 0.045);
    // Seeded: the same generator state gives the same map.
    Rng a(5), b(5);
    std::vector<float> x = base, y = base;
    augment_intensity(x.data(), x.size(), 0.3, a);
    augment_intensity(y.data(), y.size(), 0.3, b);
    EXPECT_EQ(x, y);
}

TEST(FprPatches, LabelsFollowLuna16Radii) {
    const std::vector<Annotation> nodules{{"s", {0, 0, 0}, 6}, {"s", {60, 0, 0}, 8}};
    const std::vector<Annotation> excluded{{"s", {20, 0, 0}, -1}, {"s", {40, 0, 0}, 4}, {"s", {61, 0, 0}, 20}};
    EXPECT_EQ(label_candidate({2.9, 0, 0}, nodules, excluded), FprLabel::Positive);
    EXPECT_EQ(label_candidate({3.0, 0, 0}, nodules, excluded), FprLabel::Negative);  // strictly inside the radius
    EXPECT_EQ(label_candidate({24.9, 0, 0}, nodules, excluded), FprLabel::Ignored);  // unknown diameter = 10 mm
    EXPECT_EQ(label_candidate({25.1, 0, 0}, nodules, excluded), FprLabel::Negative);
    EXPECT_EQ(label_candidate({41.9, 0, 0}, nodules, excluded), FprLabel::Ignored);
    EXPECT_EQ(label_candidate({60, 3.9, 0}, nodules, excluded), FprLabel::Positive);  // nodules before exclusions
    EXPECT_EQ(label_candidate({60, 4.5, 0}, nodules, excluded), FprLabel::Ignored);
    EXPECT_EQ(label_candidate({0, 0, 0}, {}, {}), FprLabel::Negative);
}

TEST(FprPatches, ValidationSplitIsByPatientAndStable) {
    std::vector<ScanFile> scans;
    for (int n = 0; n < 20; ++n) scans.push_back({"uid" + std::to_string(n), "", n % 10, ""});
    const auto a = validation_uids(scans, 0.25, {}, 7);
    EXPECT_EQ(a.size(), 5u);
    std::vector<ScanFile> reversed(scans.rbegin(), scans.rend());
    EXPECT_EQ(validation_uids(reversed, 0.25, {}, 7), a);
    EXPECT_NE(validation_uids(scans, 0.25, {}, 8), a);
    EXPECT_TRUE(validation_uids(scans, 0, {}, 7).empty());
    EXPECT_EQ(validation_uids(scans, 0.9, {3}, 7), (std::set<std::string>{"uid13", "uid3"}));
    // The order the split draws from: the validation patients of any fraction are its first scans, so smaller
    // fractions nest in larger ones and the first N scans hold every validation patient of a fraction up to N / 20
    // (the pipeline predicts those N for the FP reduction).
    const std::vector<ScanFile> order = validation_order(scans, 7);
    ASSERT_EQ(order.size(), scans.size());
    EXPECT_EQ(validation_order(reversed, 7)[0].uid, order[0].uid);
    for (const double f : {0.1, 0.25, 0.5}) {
        const auto val = validation_uids(scans, f, {}, 7);
        const auto n = static_cast<std::size_t>(std::llround(f * 20));
        std::set<std::string> first;
        for (std::size_t i = 0; i < n; ++i) first.insert(order[i].uid);
        EXPECT_EQ(val, first) << f;
    }
}

// The set options the tests below share: a small cohort's scans, these candidates, 8-voxel views, a third of the
// patients validating, seed 2.
FprSetOptions small_set(const CohortOptions& co, const std::string& candidates, const std::string& out) {
    FprSetOptions o;
    o.data_dir = co.out_dir;
    o.candidates = candidates;
    o.out_dir = out;
    o.patch.patch = 8;
    o.patch.max_shift = 1;
    o.val_fraction = 0.34;
    o.seed = 2;
    return o;
}

TEST(FprPatches, SetLabelsSplitsAndReuses) {
    test::TempDir dir;
    const CohortOptions co = test::small_cohort(dir.path("cohort"), 3, 5, 0.5, 2);
    write_cohort(co);
    const auto nodules = read_annotations(dir.path("cohort/annotations.csv"));
    const auto excluded = read_annotations(dir.path("cohort/annotations_excluded.csv"));
    ASSERT_FALSE(nodules.empty());
    std::vector<Candidate> cands;
    for (const auto& a : nodules) {
        cands.push_back({a.seriesuid, {a.world[0] + 0.5, a.world[1], a.world[2]}, 0.9});  // hit
        cands.push_back({a.seriesuid, {a.world[0], a.world[1], a.world[2] + 40}, 0.4});   // far from it
    }
    for (const auto& a : excluded) cands.push_back({a.seriesuid, a.world, 0.7});
    cands.push_back({"not.a.scan.here", {0, 0, 0}, 0.5});
    write_results(dir.path("cands.csv"), cands);

    FprSetOptions o = small_set(co, dir.path("cands.csv"), dir.path("fpr"));
    o.threads = 2;
    const FprSetSummary s = build_fpr_set(o);
    EXPECT_FALSE(s.reused);
    EXPECT_EQ(s.val_uids.size(), 1u);
    EXPECT_EQ(s.candidates_without_scan, 1);
    const auto rows = read_fpr_rows(dir.path("fpr/patches.csv"));
    ASSERT_EQ(static_cast<std::int64_t>(rows.size()), s.rows);
    std::int64_t centres = 0;
    for (const auto& a : nodules) centres += a.seriesuid != s.val_uids[0];
    EXPECT_EQ(s.added_centres, centres);
    // The plumbing: each candidate on a known scan is labelled by label_candidate (tested above) with its scan's tables.
    std::int64_t ignored = 0, labelled_positive = 0;
    for (const auto& c : cands) {
        if (c.seriesuid == "not.a.scan.here") continue;
        std::vector<Annotation> n, e;
        for (const auto& a : nodules)
            if (a.seriesuid == c.seriesuid) n.push_back(a);
        for (const auto& a : excluded)
            if (a.seriesuid == c.seriesuid) e.push_back(a);
        const FprLabel l = label_candidate(c.world, n, e);
        ignored += l == FprLabel::Ignored;
        labelled_positive += l == FprLabel::Positive;
    }
    EXPECT_EQ(s.ignored, ignored);
    EXPECT_GT(ignored, 0);
    EXPECT_EQ(s.positives, labelled_positive + centres);
    for (const auto& r : rows) {
        EXPECT_EQ(r.val, r.seriesuid == s.val_uids[0]);
        if (!r.from_candidates()) {
            EXPECT_FALSE(r.val);
            EXPECT_EQ(r.label, 1);
        }
    }
    std::int64_t positives = 0;
    for (const auto& r : rows) positives += r.label;
    EXPECT_EQ(positives, s.positives);
    EXPECT_GE(labelled_positive, static_cast<std::int64_t>(nodules.size()));
    const auto cubes = read_npy<std::uint8_t>(dir.path("fpr/patches.npy"));
    EXPECT_EQ(cubes.shape, (std::vector<std::int64_t>{s.rows, 11, 11, 11}));
    EXPECT_EQ(parse_npy_header(read_file(dir.path("fpr/patches.npy")), "patches.npy").dtype, ElementType::UInt8);

    EXPECT_TRUE(build_fpr_set(o).reused);
    o.patch.patch = 10;
    EXPECT_FALSE(build_fpr_set(o).reused);

    // Extra views: 3 rows for each added centre, positive, training split, in the cube file with their turn.
    o.positive_views = 3;
    const FprSetSummary v = build_fpr_set(o);
    EXPECT_FALSE(v.reused);
    EXPECT_EQ(v.added_views, 3 * centres);
    EXPECT_EQ(v.rows, s.rows + 3 * centres);
    EXPECT_EQ(v.positives, s.positives + 3 * centres);
    EXPECT_EQ(v.train_positives, s.train_positives + 3 * centres);
    const auto with_views = read_fpr_rows(dir.path("fpr/patches.csv"));
    ASSERT_EQ(static_cast<std::int64_t>(with_views.size()), v.rows);
    std::int64_t view_rows = 0;
    for (const auto& r : with_views)
        if (r.source == FprSource::View) {
            ++view_rows;
            EXPECT_EQ(r.label, 1);
            EXPECT_FALSE(r.val);
            EXPECT_GE(r.angle_deg, 0);
        } else {
            EXPECT_EQ(r.angle_deg, 0);
        }
    EXPECT_EQ(view_rows, 3 * centres);
    const auto view_cubes = read_npy<std::uint8_t>(dir.path("fpr/patches.npy"));
    ASSERT_EQ(view_cubes.shape[0], v.rows);
    // A view's cube is the turned cut at its centre.
    std::size_t n = with_views.size() - 1;
    while (with_views[n].source != FprSource::View) --n;
    const FprRow& last = with_views[n];
    for (const auto& f : find_scans(o.data_dir))
        if (f.uid == last.seriesuid) {
            const std::size_t bytes = 13 * 13 * 13;
            std::vector<std::uint8_t> cube(bytes);
            extract_cube(read_scan(f), last.world, o.patch, cube.data(), last.angle_deg);
            EXPECT_TRUE(std::equal(cube.begin(), cube.end(), view_cubes.data.begin() + static_cast<std::ptrdiff_t>(n * bytes)));
            std::vector<std::uint8_t> plain(bytes);
            extract_cube(read_scan(f), last.world, o.patch, plain.data());
            EXPECT_NE(cube, plain);
        }
    EXPECT_TRUE(build_fpr_set(o).reused);
}

// A 3-scan cohort under DIR/cohort and DIR/cands.csv: a hit on every nodule (0.9) and 12 negatives a scan, the k-th
// (0..11) with probability p(k).
template <class P> CohortOptions cohort_with_negatives(const test::TempDir& dir, P p) {
    const CohortOptions co = test::small_cohort(dir.path("cohort"), 3, 5, 0.5, 2);
    write_cohort(co);
    std::vector<Candidate> cands;
    for (const auto& a : read_annotations(dir.path("cohort/annotations.csv")))
        cands.push_back({a.seriesuid, {a.world[0] + 0.5, a.world[1], a.world[2]}, 0.9});
    for (const auto& f : find_scans(co.out_dir))
        for (int k = 0; k < 12; ++k) cands.push_back({f.uid, {-60.0 + 10 * k, 5.0 * k, 30.0}, p(k)});
    write_results(dir.path("cands.csv"), cands);
    return co;
}

TEST(FprPatches, TrainingNegativesAreCappedPerScanWhileValidationKeepsAll) {
    test::TempDir dir;
    const CohortOptions co = cohort_with_negatives(dir, [](int) { return 0.3; });
    const std::vector<ScanFile> scans = find_scans(co.out_dir);
    FprSetOptions o = small_set(co, dir.path("cands.csv"), dir.path("all"));
    const FprSetSummary all = build_fpr_set(o);
    EXPECT_EQ(all.negatives_dropped, 0);
    o.max_train_negatives_per_scan = 5;
    o.out_dir = dir.path("capped");
    const FprSetSummary capped = build_fpr_set(o);
    ASSERT_EQ(capped.val_uids.size(), 1u);
    EXPECT_EQ(capped.negatives_dropped, 2 * 7);  // two training scans, 12 -> 5 each
    EXPECT_EQ(capped.negatives, all.negatives - 14);
    EXPECT_EQ(capped.positives, all.positives);
    const auto before = read_fpr_rows(dir.path("all/patches.csv")), after = read_fpr_rows(dir.path("capped/patches.csv"));
    ASSERT_EQ(static_cast<std::int64_t>(after.size()), capped.rows);
    std::map<std::string, int> negatives;
    for (const auto& r : after) negatives[r.seriesuid] += r.label == 0;
    for (const auto& f : scans) EXPECT_EQ(negatives[f.uid], f.uid == capped.val_uids[0] ? 12 : 5) << f.uid;
    // The kept rows are rows of the full set, in its order, and the cubes follow them.
    std::size_t i = 0;
    for (const auto& r : after) {
        while (i < before.size() && (before[i].seriesuid != r.seriesuid || before[i].world != r.world)) ++i;
        ASSERT_LT(i, before.size());
        ++i;
    }
    EXPECT_EQ(read_npy<std::uint8_t>(dir.path("capped/patches.npy")).shape[0], capped.rows);
    // Seeded: the same choice again; another seed chooses other negatives.
    o.out_dir = dir.path("again");
    build_fpr_set(o);
    EXPECT_EQ(read_file(dir.path("again/patches.csv")), read_file(dir.path("capped/patches.csv")));
    o.seed = 3;
    o.out_dir = dir.path("other");
    const FprSetSummary other = build_fpr_set(o);
    if (other.val_uids == capped.val_uids) {
        EXPECT_NE(read_file(dir.path("other/patches.csv")), read_file(dir.path("capped/patches.csv")));
    }
    // The cap is part of the set's key, and of the options' JSON only when set (older work folders stay valid).
    o.seed = 2;
    o.out_dir = dir.path("capped");
    EXPECT_TRUE(build_fpr_set(o).reused);
    o.max_train_negatives_per_scan = 6;
    EXPECT_FALSE(build_fpr_set(o).reused);
    EXPECT_EQ(nlohmann::json(o).at("max_train_negatives_per_scan"), 6);
    EXPECT_FALSE(nlohmann::json(FprSetOptions{}).contains("max_train_negatives_per_scan"));
}

// negative_choice = hardest: a capped training scan keeps its highest-probability negatives (ties in the
// candidates' order), whatever the seed; the choice is part of the set's key and, only when not random, of the
// options' JSON.
TEST(FprPatches, HardestChoiceKeepsTheHighestProbabilityNegatives) {
    test::TempDir dir;
    // Two negatives of each of 0.05..0.30 a scan.
    const CohortOptions co = cohort_with_negatives(dir, [](int k) { return 0.05 * (k % 6 + 1); });
    const std::vector<ScanFile> scans = find_scans(co.out_dir);
    FprSetOptions o = small_set(co, dir.path("cands.csv"), dir.path("hard"));
    o.max_train_negatives_per_scan = 5;
    o.negative_choice = NegativeChoice::Hardest;
    const FprSetSummary hard = build_fpr_set(o);
    ASSERT_EQ(hard.val_uids.size(), 1u);
    EXPECT_EQ(hard.negatives_dropped, 2 * 7);
    std::map<std::string, std::vector<double>> kept;
    for (const auto& r : read_fpr_rows(dir.path("hard/patches.csv")))
        if (r.label == 0) kept[r.seriesuid].push_back(r.probability);
    for (const auto& f : scans) {
        if (f.uid == hard.val_uids[0]) {
            EXPECT_EQ(kept[f.uid].size(), 12u);
            continue;
        }
        // The two 0.30s, the two 0.25s and the first 0.20 (k = 3), in the candidates' order.
        std::vector<double> p = kept[f.uid];
        ASSERT_EQ(p.size(), 5u) << f.uid;
        std::sort(p.begin(), p.end());
        const std::vector<double> expected = {0.20, 0.25, 0.25, 0.30, 0.30};
        for (std::size_t i = 0; i < 5; ++i) EXPECT_NEAR(p[i], expected[i], 1e-9) << f.uid;
    }
    // Another seed (the same split here) keeps the same negatives; random would draw others.
    o.seed = 3;
    o.out_dir = dir.path("hard3");
    if (build_fpr_set(o).val_uids == hard.val_uids) {
        EXPECT_EQ(read_file(dir.path("hard3/patches.csv")), read_file(dir.path("hard/patches.csv")));
    }
    o.seed = 2;
    o.out_dir = dir.path("hard");
    EXPECT_TRUE(build_fpr_set(o).reused);
    o.negative_choice = NegativeChoice::Random;
    EXPECT_FALSE(build_fpr_set(o).reused);
    EXPECT_FALSE(nlohmann::json(o).contains("negative_choice"));
    o.negative_choice = NegativeChoice::Hardest;
    EXPECT_EQ(nlohmann::json(o).at("negative_choice"), "hardest");
    FprSetOptions back;
    nlohmann::json(o).get_to(back);
    EXPECT_EQ(back.negative_choice, NegativeChoice::Hardest);
}

// Work folders and patch sets written before the extra views stay valid: the options' JSON (part of the pipeline's
// stage key) is unchanged without views, and a patches.csv without turns reads as cuts along the world axes.
TEST(FprPatches, SetsFromBeforeTheViewsStayValid) {
    FprSetOptions o;
    EXPECT_FALSE(nlohmann::json(o).contains("positive_views"));
    o.positive_views = 5;
    const nlohmann::json j = o;
    EXPECT_EQ(j.at("positive_views"), 5);
    EXPECT_EQ(j.get<FprSetOptions>().positive_views, 5);

    test::TempDir dir;
    write_file_atomically(dir.path("old.csv"), "seriesuid,coordX,coordY,coordZ,label,split,source,probability\n"
                                               "1.2,1,2,3,1,train,annotation,1\n1.2,4,5,6,0,val,candidate,0.25\n");
    const auto rows = read_fpr_rows(dir.path("old.csv"));
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].source, FprSource::Annotation);
    EXPECT_EQ(rows[1].source, FprSource::Candidate);
    EXPECT_TRUE(rows[1].val);
    EXPECT_EQ(rows[1].probability, 0.25);
    EXPECT_EQ(rows[0].angle_deg, 0);
    write_file_atomically(dir.path("bad.csv"), "seriesuid,coordX,coordY,coordZ,label,split,source,probability,angle_deg\n"
                                               "1.2,1,2,3,1,train,guess,1,0\n");
    test::expect_error([&] { read_fpr_rows(dir.path("bad.csv")); }, {"bad.csv:2", "'guess' is not candidate, annotation or view"});
}

TEST(FprPatches, BadInputsAreClearErrors) {
    test::TempDir dir;
    FprSetOptions o;
    o.data_dir = dir.path("nothing");
    o.candidates = dir.path("c.csv");
    o.out_dir = dir.path("out");
    test::expect_error([&] { build_fpr_set(o); }, {"nothing", "not found"});
    o.patch.patch = 7;
    test::expect_error([&] { build_fpr_set(o); }, {"patch must be an even number of voxels between 4 and 256, got 7"});
}

}  // namespace
}  // namespace nodulecad
