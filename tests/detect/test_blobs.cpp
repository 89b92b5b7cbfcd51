#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "nodulecad/detect/blobs.hpp"
#include "nodulecad/detect/candidates.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/synth/phantom.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

double distance(const Vec3& a, const Vec3& b) { return std::sqrt(std::pow(a[0] - b[0], 2) + std::pow(a[1] - b[1], 2) + std::pow(a[2] - b[2], 2)); }

TEST(Blobs, EigenvaluesOfSymmetricMatricesByMagnitude) {
    double e[3];
    symmetric_eigenvalues(-3, 1, -2, 0, 0, 0, e);
    EXPECT_NEAR(e[0], -3, 1e-12);
    EXPECT_NEAR(e[1], -2, 1e-12);
    EXPECT_NEAR(e[2], 1, 1e-12);
    symmetric_eigenvalues(-2, -2, -2, 0, 0, 0, e);
    for (double v : e) EXPECT_NEAR(v, -2, 1e-12);
    // R diag(-5, -1, 0.5) R^T for a rotation R: the same eigenvalues.
    for (const auto& [name, r] : test::test_directions()) {
        SCOPED_TRACE(name);
        const double d[3] = {-5, -1, 0.5};
        double m[3][3] = {};
        for (int a = 0; a < 3; ++a)
            for (int b = 0; b < 3; ++b)
                for (int c = 0; c < 3; ++c) m[a][b] += r[static_cast<std::size_t>(3 * a + c)] * d[c] * r[static_cast<std::size_t>(3 * b + c)];
        symmetric_eigenvalues(m[0][0], m[1][1], m[2][2], m[0][1], m[0][2], m[1][2], e);
        EXPECT_NEAR(e[0], -5, 1e-9);
        EXPECT_NEAR(e[1], -1, 1e-9);
        EXPECT_NEAR(e[2], 0.5, 1e-9);
    }
}

// Lung-like background with a sphere and a tube of the same radius and HU, rasterised with partial volume
// (4x4x4 points per voxel) on anisotropic voxels. The tube runs along the first index axis, the sphere sits apart.
struct Scene {
    Volume<std::int16_t> scan;
    Vec3 sphere{}, tube_point{};
};
Scene make_scene(const Mat3& direction, double diameter) {
    Geometry g;
    g.size = {56, 56, 24};
    g.spacing = {0.8, 0.8, 2.0};
    g.origin = {-30, 20, -100};
    g.direction = direction;
    const IndexWorldTransform t(g);
    Scene s;
    s.scan = Volume<std::int16_t>(g, -850);
    s.sphere = t.to_world({36.3, 20.6, 11.7});
    s.tube_point = t.to_world({28, 40, 12.0});
    const Vec3 axis{direction[0], direction[3], direction[6]};  // world direction of index axis 0
    const double r = diameter / 2;
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 0; i < g.size[0]; ++i) {
                int inside = 0;
                for (int c = 0; c < 64; ++c) {
                    const Vec3 w = t.to_world({static_cast<double>(i) + ((c & 3) - 1.5) / 4, static_cast<double>(j) + (((c >> 2) & 3) - 1.5) / 4,
                                               static_cast<double>(k) + (((c >> 4) & 3) - 1.5) / 4});
                    const Vec3 v{w[0] - s.tube_point[0], w[1] - s.tube_point[1], w[2] - s.tube_point[2]};
                    const double along = v[0] * axis[0] + v[1] * axis[1] + v[2] * axis[2];
                    const double tube2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2] - along * along;
                    if (distance(w, s.sphere) <= r || tube2 <= r * r) ++inside;
                }
                s.scan.at(i, j, k) = static_cast<std::int16_t>(-850 + 890 * inside / 64);
            }
    return s;
}

TEST(Blobs, FindsASphereNotATubeOnEveryDirection) {
    for (const auto& [name, d] : test::test_directions()) {
        SCOPED_TRACE(name);
        const Scene s = make_scene(d, 5.0);
        const Volume<std::uint8_t> region(s.scan.geometry, 1);
        BlobOptions o;
        o.threads = 2;
        const BlobResponse r = blob_response(s.scan, region, o);
        // The response's box is the scan's grid moved to `offset`: the same world point either way.
        const Vec3 corner = index_to_world(s.scan.geometry, {static_cast<double>(r.offset[0] + 3), static_cast<double>(r.offset[1] + 2),
                                                             static_cast<double>(r.offset[2] + 1)});
        const Vec3 corner_box = index_to_world(r.response.geometry, {3, 2, 1});
        for (int a = 0; a < 3; ++a) EXPECT_NEAR(corner[a], corner_box[a], 1e-9);
        const IndexWorldTransform t(r.response.geometry);
        const auto at = [&](const Vec3& w) {
            const Vec3 x = t.to_index(w);
            return r.response.at(std::llround(x[0]), std::llround(x[1]), std::llround(x[2]));
        };
        // The sphere answers strongly; the tube, of the same width and contrast, hardly.
        EXPECT_GT(at(s.sphere), 50.0f);
        EXPECT_LT(at(s.tube_point), 0.2f * at(s.sphere));
        const auto c = detect_blobs("u", s.scan, region, o);
        ASSERT_FALSE(c.empty());
        EXPECT_LT(distance(c[0].candidate.world, s.sphere), 1.0);  // within 1 mm on 0.8 x 0.8 x 2 mm voxels
        EXPECT_GT(c[0].candidate.diameter_mm, 3.5);
        EXPECT_LT(c[0].candidate.diameter_mm, 7.0);
        EXPECT_GT(c[0].candidate.probability, 0.3);
        EXPECT_LT(c[0].candidate.probability, 1.0);
        for (std::size_t n = 1; n < c.size(); ++n) {
            EXPECT_LE(c[n].candidate.probability, c[n - 1].candidate.probability);
            EXPECT_GE(distance(c[n].candidate.world, c[0].candidate.world), o.min_distance_mm);
        }
    }
}

// The filter treats its three axes alike: the same scan with its axes rotated (x->z, y->x, z->y, spacings with
// them) gives the same response, rotated. Each physical axis is then smoothed by another of the code's paths (the
// contiguous rows of x, the planes of y, the slabs of z), so the test checks them against each other.
TEST(Blobs, ResponseFollowsTheScanWhenItsAxesAreRotated) {
    Geometry g;
    g.size = {23, 19, 17};
    g.spacing = {0.7, 0.9, 1.6};
    Volume<std::int16_t> p(g, -900);
    std::uint64_t state = 12345;
    const auto uniform = [&] {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<double>(state >> 11) / 9007199254740992.0;
    };
    const double balls[3][4] = {{8, 7, 6, 2.5}, {15, 12, 10, 1.8}, {5, 14, 12, 3.2}};  // index centre, radius in mm
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 0; i < g.size[0]; ++i) {
                double v = -850 + 80 * (uniform() - 0.5);
                for (const auto& b : balls) {
                    const double dx = (static_cast<double>(i) - b[0]) * g.spacing[0], dy = (static_cast<double>(j) - b[1]) * g.spacing[1], dz = (static_cast<double>(k) - b[2]) * g.spacing[2];
                    if (dx * dx + dy * dy + dz * dz <= b[3] * b[3]) v += 850;
                }
                p.at(i, j, k) = static_cast<std::int16_t>(std::lround(v));
            }
    Geometry gq;
    gq.size = {g.size[1], g.size[2], g.size[0]};
    gq.spacing = {g.spacing[1], g.spacing[2], g.spacing[0]};
    Volume<std::int16_t> q(gq, 0);
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 0; i < g.size[0]; ++i) q.at(j, k, i) = p.at(i, j, k);
    // Second differences of float sums of -850 HU values: rounding of about 1e-3 HU, amplified by sigma^2 / spacing^2.
    BlobOptions o;
    o.threads = 3;
    const BlobResponse rp = blob_response(p, Volume<std::uint8_t>(g, 1), o);
    const BlobResponse rq = blob_response(q, Volume<std::uint8_t>(gq, 1), o);
    ASSERT_EQ(rp.response.geometry.size, g.size);
    ASSERT_EQ(rq.response.geometry.size, gq.size);
    float peak = 0;
    int answered = 0;
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 0; i < g.size[0]; ++i) {
                const float a = rp.response.at(i, j, k), b = rq.response.at(j, k, i);
                ASSERT_NEAR(a, b, 1e-2f + 1e-4f * std::abs(a)) << i << "," << j << "," << k;
                peak = std::max(peak, a);
                answered += a > 1.0f;
            }
    EXPECT_GT(peak, 50.0f);      // the balls answer
    EXPECT_GT(answered, 200);    // and the comparison covers many voxels, not a field of zeros
    // Any number of threads gives the same response, to the bit.
    o.threads = 1;
    EXPECT_EQ(blob_response(p, Volume<std::uint8_t>(g, 1), o).response.voxels, rp.response.voxels);
}

TEST(Blobs, OnlyInsideTheRegionAndCapped) {
    const Scene s = make_scene(identity3(), 5.0);
    Volume<std::uint8_t> region(s.scan.geometry, 0);
    BlobOptions o;
    EXPECT_TRUE(detect_blobs("u", s.scan, region, o).empty());
    EXPECT_TRUE(blob_response(s.scan, region, o).response.voxels.empty());
    // The region holds the tube only: no candidate at the sphere.
    for (std::int64_t k = 0; k < 24; ++k)
        for (std::int64_t j = 34; j < 46; ++j)
            for (std::int64_t i = 0; i < 56; ++i) region.at(i, j, k) = 1;
    for (const auto& c : detect_blobs("u", s.scan, region, o)) EXPECT_GT(distance(c.candidate.world, s.sphere), 5.0);
    // The response covers the region's box (y 34..45) grown by 3 sigma (2.8 mm / 0.8 mm -> 11 voxels) + 2, clipped
    // to the scan (56), not the whole scan.
    const BlobResponse r = blob_response(s.scan, region, o);
    EXPECT_EQ(r.offset[1], 34 - 13);
    EXPECT_EQ(r.response.geometry.size[1], 56 - (34 - 13));
    EXPECT_EQ(r.response.geometry.size[0], 56);
    o.max_per_scan = 1;
    EXPECT_LE(detect_blobs("u", s.scan, Volume<std::uint8_t>(s.scan.geometry, 1), o).size(), 1u);
    o.sigmas_mm.clear();
    test::expect_error([&] { detect_blobs("u", s.scan, region, o); }, {"no scales"});
    o.sigmas_mm = {1.0};
    test::expect_error([&] { detect_blobs("u", s.scan, Volume<std::uint8_t>(Geometry{}, 0), o); }, {"region", "size"});
}

TEST(Blobs, MergeKeepsOnlyUncoveredBlobsWithTheUNetProbabilityThere) {
    Geometry g;
    g.size = {40, 40, 20};
    g.spacing = {1, 1, 2};
    g.direction = {-1, 0, 0, 0, -1, 0, 0, 0, 1};  // LUNA16's flipped x/y
    const IndexWorldTransform t(g);
    Volume<float> prob(g, 0.f);
    prob.at(30, 10, 5) = 0.04f;  // next to where the second blob lies
    std::vector<DetectedCandidate> cands(1);
    cands[0].candidate = {"u", t.to_world({10, 10, 10}), 0.9, 12.0};  // radius 6 mm
    std::vector<DetectedCandidate> blobs(3);
    blobs[0].candidate = {"u", t.to_world({15.5, 10, 10}), 0.8, 4.0};  // 5.5 mm away: covered by the 6-mm radius
    blobs[1].candidate = {"u", t.to_world({29, 10, 5}), 0.7, 4.0};     // far: added, p from the volume
    blobs[2].candidate = {"u", t.to_world({10, 30, 10}), 0.6, 4.0};    // far, nothing there: p = 0
    add_blob_candidates(cands, blobs, prob, 5.0);
    ASSERT_EQ(cands.size(), 3u);
    EXPECT_DOUBLE_EQ(cands[0].candidate.probability, 0.9);
    EXPECT_FLOAT_EQ(static_cast<float>(cands[1].candidate.probability), 0.04f);
    EXPECT_NEAR(distance(cands[1].candidate.world, blobs[1].candidate.world), 0, 1e-12);
    EXPECT_DOUBLE_EQ(cands[2].candidate.probability, 0);
    // With a larger minimum distance the small U-Net radius no longer decides.
    std::vector<DetectedCandidate> again(1, cands[0]);
    again[0].candidate.diameter_mm = 2.0;
    add_blob_candidates(again, {blobs[0]}, prob, 6.0);
    EXPECT_EQ(again.size(), 1u);
}

// Three 5-mm balls far apart, of falling contrast (+900, +600, +300 HU over -850), on anisotropic voxels.
struct ThreeBalls {
    Volume<std::int16_t> scan;
    Vec3 ball[3]{};
};
ThreeBalls three_balls(const Mat3& direction) {
    Geometry g;
    g.size = {64, 40, 20};
    g.spacing = {0.9, 0.9, 2.0};
    g.origin = {12, -40, -150};
    g.direction = direction;
    const IndexWorldTransform t(g);
    ThreeBalls s;
    s.scan = Volume<std::int16_t>(g, -850);
    const double centre[3][3] = {{12.2, 20.4, 9.6}, {32.5, 19.7, 10.2}, {51.8, 20.1, 9.9}};
    for (int b = 0; b < 3; ++b) s.ball[b] = t.to_world({centre[b][0], centre[b][1], centre[b][2]});
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 0; i < g.size[0]; ++i)
                for (int b = 0; b < 3; ++b)
                    if (distance(t.to_world({static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)}), s.ball[b]) <= 2.5)
                        s.scan.at(i, j, k) = static_cast<std::int16_t>(-850 + 900 - 300 * b);
    return s;
}

// --blobs 1: by default the strongest blob, which the U-Net's candidate covers, so none is added; with
// blobs_uncovered the strongest that no U-Net candidate covers (the second ball). On every test direction.
TEST(Blobs, UncoveredCountsOnlyBlobsNoUNetCandidateCovers) {
    for (const auto& [name, d] : test::test_directions()) {
        SCOPED_TRACE(name);
        const ThreeBalls s = three_balls(d);
        const Volume<std::uint8_t> lungs(s.scan.geometry, 1);
        BlobOptions all;
        all.max_per_scan = 0;
        const auto blobs = detect_blobs("u", s.scan, lungs, all);
        ASSERT_GE(blobs.size(), 3u);
        for (int b = 0; b < 3; ++b) EXPECT_LT(distance(blobs[static_cast<std::size_t>(b)].candidate.world, s.ball[b]), 1.0) << b;
        // The U-Net found the strongest ball: a probability cube around it.
        Volume<float> prob(s.scan.geometry, 0.0f);
        const Vec3 at = IndexWorldTransform(s.scan.geometry).to_index(s.ball[0]);
        for (std::int64_t k = std::llround(at[2]) - 1; k <= std::llround(at[2]) + 1; ++k)
            for (std::int64_t j = std::llround(at[1]) - 2; j <= std::llround(at[1]) + 2; ++j)
                for (std::int64_t i = std::llround(at[0]) - 2; i <= std::llround(at[0]) + 2; ++i) prob.at(i, j, k) = 0.9f;
        DetectOptions o;
        o.threshold = 0.5;
        o.blobs_per_scan = 1;
        const auto strongest = detect_scan("u", prob, &s.scan, &lungs, o, BlobOptions{});
        ASSERT_EQ(strongest.size(), 1u);  // the U-Net's candidate alone: the one blob counted was under it
        EXPECT_LT(distance(strongest[0].candidate.world, s.ball[0]), 1.0);
        o.blobs_uncovered = true;
        const auto uncovered = detect_scan("u", prob, &s.scan, &lungs, o, BlobOptions{});
        ASSERT_EQ(uncovered.size(), 2u);
        EXPECT_LT(distance(uncovered[0].candidate.world, s.ball[0]), 1.0);
        EXPECT_LT(distance(uncovered[1].candidate.world, s.ball[1]), 1.0);
        EXPECT_EQ(uncovered[1].candidate.probability, 0);  // the U-Net's probability there
        // The counted list runs on past the covered blob and stops at the first accepted one; the covered one
        // comes back too, as in the uncapped list.
        BlobOptions one;
        one.max_per_scan = 1;
        const auto counted = detect_blobs("u", s.scan, lungs, one, [&](const Vec3& w) { return distance(w, s.ball[0]) > 5; });
        ASSERT_EQ(counted.size(), 2u);
        for (std::size_t n = 0; n < 2; ++n) EXPECT_EQ(counted[n].candidate.world, blobs[n].candidate.world);
        // Two uncovered: the second and third balls, strongest first.
        o.blobs_per_scan = 2;
        const auto two = detect_scan("u", prob, &s.scan, &lungs, o, BlobOptions{});
        ASSERT_EQ(two.size(), 3u);
        EXPECT_LT(distance(two[2].candidate.world, s.ball[2]), 1.0);
    }
}

// A cohort folder (DIR/data/subset0) and a predictions folder (DIR/pred), both empty, and a phantom with a 6-mm
// nodule to fill them with.
Phantom cohort_folders_and_phantom(const test::TempDir& dir, const Mat3& direction) {
    std::filesystem::create_directories(dir.path("data/subset0"));
    std::filesystem::create_directories(dir.path("pred"));
    PhantomSpec spec;
    spec.geometry.size = {96, 96, 40};
    spec.geometry.spacing = {1.5, 1.5, 2.5};
    spec.geometry.direction = direction;
    spec.nodule_diameter_mm = 6;
    return make_phantom(spec);
}

TEST(Blobs, DetectPredictionsAddsBlobsFromTheScans) {
    test::TempDir dir;
    namespace fs = std::filesystem;
    const Phantom p = cohort_folders_and_phantom(dir, {-1, 0, 0, 0, -1, 0, 0, 0, 1});
    write_metaimage(dir.path("data/subset0/scan1.mhd"), p.scan);
    write_metaimage(dir.path("data/subset0/scan2.mhd"), p.scan);  // a scan without a prediction is not read
    // The U-Net saw nothing: an empty probability volume.
    write_metaimage(dir.path("pred/scan1_prob.mhd"), Volume<std::uint8_t>(p.scan.geometry, 0));
    DetectOptions o;
    EXPECT_TRUE(detect_predictions(dir.path("pred"), o).empty());
    o.blobs_per_scan = 3;
    test::expect_error([&] { detect_predictions(dir.path("pred"), o); }, {"blob", "scans"});
    const auto c = detect_predictions(dir.path("pred"), o, nullptr, dir.path("data"));
    ASSERT_FALSE(c.empty());
    EXPECT_LE(c.size(), 3u);
    double nearest = 1e9;
    for (const auto& x : c) {
        EXPECT_EQ(x.seriesuid, "scan1");
        EXPECT_DOUBLE_EQ(x.probability, 0);  // the U-Net's probability there
        nearest = std::min(nearest, distance(x.world, p.nodule_world));
    }
    EXPECT_LT(nearest, 1.5);
    fs::remove(dir.path("data/subset0/scan1.mhd"));
    test::expect_error([&] { detect_predictions(dir.path("pred"), o, nullptr, dir.path("data")); }, {"no scan scan1"});
}

// Scans are shared out among workers (2 threads: two scans at once, one thread each): the candidates are those of
// one thread, in the scans' order.
TEST(Blobs, DetectPredictionsGivesTheSameCandidatesOnAnyThreadCount) {
    test::TempDir dir;
    const Phantom p = cohort_folders_and_phantom(dir, {1, 0, 0, 0, 1, 0, 0, 0, 1});
    for (int k = 0; k < 5; ++k) {
        const std::string uid = "scan" + std::to_string(k);
        write_metaimage(dir.path("data/subset0/" + uid + ".mhd"), p.scan);
        // Each scan's U-Net output: a cube at its own place, of its own strength.
        Volume<std::uint8_t> prob(p.scan.geometry, 0);
        for (std::int64_t z = 10; z < 14; ++z)
            for (std::int64_t y = 30 + 4 * k; y < 36 + 4 * k; ++y)
                for (std::int64_t x = 20; x < 26; ++x) prob.at(x, y, z) = static_cast<std::uint8_t>(100 + 30 * k);
        write_metaimage(dir.path("pred/" + uid + "_prob.mhd"), prob);
    }
    DetectOptions o;
    o.blobs_per_scan = 3;
    o.threads = 1;
    const std::vector<Candidate> one = detect_predictions(dir.path("pred"), o, nullptr, dir.path("data"));
    ASSERT_GE(one.size(), 5u);  // the cube in each of the 5 scans, and blobs
    for (std::size_t i = 1; i < one.size(); ++i) EXPECT_LE(one[i - 1].seriesuid, one[i].seriesuid);
    EXPECT_EQ(one.front().seriesuid, "scan0");
    EXPECT_EQ(one.back().seriesuid, "scan4");
    for (const int threads : {2, 3, 8}) {
        SCOPED_TRACE(std::to_string(threads) + " threads");
        o.threads = threads;
        const std::vector<Candidate> many = detect_predictions(dir.path("pred"), o, nullptr, dir.path("data"));
        ASSERT_EQ(many.size(), one.size());
        for (std::size_t i = 0; i < one.size(); ++i) {
            EXPECT_EQ(many[i].seriesuid, one[i].seriesuid);
            EXPECT_EQ(many[i].world, one[i].world);
            EXPECT_EQ(many[i].probability, one[i].probability);
            EXPECT_EQ(many[i].diameter_mm, one[i].diameter_mm);
        }
    }
}

}  // namespace
}  // namespace nodulecad
