#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/math.hpp"
#include "nodulecad/detect/candidates.hpp"
#include "nodulecad/io/probability_map.hpp"
#include "nodulecad/preprocess/components.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {


TEST(Detect, CentroidsInWorldOnEveryDirectionAndAnisotropicSpacing) {
    for (const auto& [name, d] : test::test_directions()) {
        SCOPED_TRACE(name);
        Geometry g;
        g.size = {30, 24, 12};
        g.spacing = {0.7, 0.9, 2.5};
        g.origin = {-40, 15, -200};
        g.direction = d;
        Volume<float> p(g, 0.f);
        // A 3x3x3 block of 0.9 around voxel (10, 8, 5), one voxel at 0.6 making the weighted centroid shift.
        for (std::int64_t k = 4; k <= 6; ++k)
            for (std::int64_t j = 7; j <= 9; ++j)
                for (std::int64_t i = 9; i <= 11; ++i) p.at(i, j, k) = 0.9f;
        p.at(12, 8, 5) = 0.6f;
        // A second, smaller blob elsewhere.
        p.at(25, 20, 10) = 0.7f;
        DetectOptions peak;
        peak.score = CandidateScore::Peak;
        const auto c = detect_candidates("u", p, peak);
        ASSERT_EQ(c.size(), 2u);
        EXPECT_FLOAT_EQ(static_cast<float>(c[0].candidate.probability), 0.9f);  // max in the component, sorted first
        EXPECT_EQ(c[0].voxels, 28);
        const double pa = static_cast<double>(0.9f), pb = static_cast<double>(0.6f);  // as stored
        const double w = 27 * pa + pb;
        const Vec3 idx{(27 * pa * 10 + pb * 12) / w, 8, 5};
        const Vec3 expected = index_to_world(g, idx);
        for (int a = 0; a < 3; ++a) EXPECT_NEAR(c[0].candidate.world[a], expected[a], 1e-9);
        EXPECT_NEAR(c[0].candidate.diameter_mm, std::cbrt(6 * 28 * 0.7 * 0.9 * 2.5 / kPi), 1e-9);
        const Vec3 second = index_to_world(g, {25, 20, 10});
        for (int a = 0; a < 3; ++a) EXPECT_NEAR(c[1].candidate.world[a], second[a], 1e-9);
    }
}

TEST(Detect, Uint8MapsGiveTheCandidatesOfTheirFloatCopy) {
    // predict writes uint8 maps; detection reads them through a view: the same candidates, to the last bit, as from
    // the float volume probability_volume makes of them, with several threads marking the voxels above threshold.
    Geometry g;
    g.size = {40, 30, 20};
    g.spacing = {0.7, 0.7, 1.25};
    g.direction = {0, -1, 0, 1, 0, 0, 0, 0, 1};
    Volume<std::uint8_t> q(g, 0);
    std::uint64_t state = 12345;
    for (auto& v : q.voxels) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        const auto r = static_cast<int>(state >> 56);
        v = r > 250 ? static_cast<std::uint8_t>(128 + (r - 250) * 20) : static_cast<std::uint8_t>(r / 4);
    }
    for (std::int64_t k = 8; k <= 11; ++k)
        for (std::int64_t j = 10; j <= 13; ++j)
            for (std::int64_t i = 20; i <= 23; ++i) q.at(i, j, k) = static_cast<std::uint8_t>(200 + i - j);
    const Volume<float> p = probability_volume(AnyVolume(q));
    for (const CandidateScore score : {CandidateScore::Peak, CandidateScore::Mean, CandidateScore::PeakShare}) {
        SCOPED_TRACE(enum_name(score, kCandidateScoreNames));
        DetectOptions o;
        o.score = score;
        o.threads = 3;
        const auto from_bytes = detect_candidates("u", q, o), from_floats = detect_candidates("u", p, o);
        ASSERT_EQ(from_bytes.size(), from_floats.size());
        ASSERT_GE(from_bytes.size(), 2u);
        for (std::size_t n = 0; n < from_bytes.size(); ++n) {
            EXPECT_EQ(from_bytes[n].candidate.probability, from_floats[n].candidate.probability) << n;
            EXPECT_EQ(from_bytes[n].candidate.world, from_floats[n].candidate.world) << n;
            EXPECT_EQ(from_bytes[n].voxels, from_floats[n].voxels) << n;
        }
    }
}

TEST(Detect, EquivalentDiameterOfARasterisedSphere) {
    Geometry g;
    g.size = {60, 60, 40};
    g.spacing = {0.6, 0.6, 1.0};
    Volume<float> p(g, 0.f);
    const Vec3 c{18, 18, 20};
    for (std::int64_t k = 0; k < 40; ++k)
        for (std::int64_t j = 0; j < 60; ++j)
            for (std::int64_t i = 0; i < 60; ++i) {
                const Vec3 w = index_to_world(g, {double(i), double(j), double(k)});
                if (std::pow(w[0] - c[0], 2) + std::pow(w[1] - c[1], 2) + std::pow(w[2] - c[2], 2) <= 36) p.at(i, j, k) = 1;
            }
    const auto d = detect_candidates("u", p, {});
    ASSERT_EQ(d.size(), 1u);
    EXPECT_NEAR(d[0].candidate.diameter_mm, 12, 1.2);  // within 10 %
    for (int a = 0; a < 3; ++a) EXPECT_NEAR(d[0].candidate.world[a], c[a], 0.05);
}

TEST(Detect, DiagonalNeighboursJoinAndFiltersAndCap) {
    Geometry g;
    g.size = {50, 50, 10};
    Volume<float> p(g, 0.f);
    p.at(1, 1, 1) = p.at(2, 2, 2) = 0.8f;  // touching only at a corner: one component (26-connectivity)
    EXPECT_EQ(detect_candidates("u", p, {}).size(), 1u);
    Volume<std::uint8_t> m(g, 0);
    m.at(1, 1, 1) = m.at(2, 2, 2) = 1;
    EXPECT_EQ(label_volume(m, 1, false).count, 2);  // 6-connectivity keeps them apart
    // 150 separate blobs: the cap keeps the 100 most probable.
    Volume<float> many(g, 0.f);
    for (int n = 0; n < 150; ++n) many.at(2 * (n % 25), 2 * ((n / 25) % 25), 2 * (n / 25 % 5)) = 0.5f + 0.003f * static_cast<float>(n);
    const auto capped = detect_candidates("u", many, {});  // single voxels: peak-share is the peak
    ASSERT_EQ(capped.size(), 100u);
    EXPECT_FLOAT_EQ(static_cast<float>(capped.front().candidate.probability), 0.5f + 0.003f * 149);
    DetectOptions big;
    big.min_diameter_mm = 1.5;
    EXPECT_EQ(detect_candidates("u", many, big).size(), 0u);  // single voxels are 1.24 mm
    DetectOptions mean;
    mean.score = CandidateScore::Mean;
    Volume<float> two(g, 0.f);
    two.at(5, 5, 5) = 1.0f;
    two.at(6, 5, 5) = 0.6f;
    EXPECT_NEAR(detect_candidates("u", two, mean)[0].candidate.probability, 0.8, 1e-7);
}

TEST(Detect, PeakShareOrdersComponentsTiedAtTheirPeak) {
    // Three components of an 8-bit map, as predict writes it: a wisp of 8 voxels with one at 255, a solid core of 8
    // with 6 at 255, and one peaking a level lower (254) with every voxel there. By the peak the first two tie and
    // keep their order of discovery (the wisp first); peak-share puts the core first and never lifts the 254 one
    // above either.
    Geometry g;
    g.size = {40, 10, 10};
    g.direction = {-1, 0, 0, 0, 1, 0, 0, 0, 1};
    Volume<std::uint8_t> m(g, 0);
    for (std::int64_t i = 2; i < 10; ++i) m.at(i, 5, 5) = i == 2 ? 255 : 40;  // the wisp
    for (std::int64_t i = 15; i < 23; ++i) m.at(i, 5, 5) = i < 21 ? 255 : 100;  // the core
    for (std::int64_t i = 30; i < 33; ++i) m.at(i, 5, 5) = 254;
    DetectOptions o;
    o.threshold = 0.1;
    o.score = CandidateScore::Peak;
    const auto by_peak = detect_candidates("u", m, o);
    ASSERT_EQ(by_peak.size(), 3u);
    EXPECT_EQ(by_peak[0].candidate.probability, 1.0);
    EXPECT_EQ(by_peak[1].candidate.probability, 1.0);
    const double wisp_x = by_peak[0].candidate.world[0];  // x mirrored: world x falls as i rises
    EXPECT_GT(wisp_x, by_peak[1].candidate.world[0]);
    o.score = CandidateScore::PeakShare;
    const auto shared = detect_candidates("u", m, o);
    ASSERT_EQ(shared.size(), 3u);
    EXPECT_DOUBLE_EQ(shared[0].candidate.probability, 1.0 - (1.0 - 6.0 / 8.0) / 510.0);  // the core
    EXPECT_LT(shared[0].candidate.world[0], wisp_x);
    EXPECT_DOUBLE_EQ(shared[1].candidate.probability, 1.0 - (1.0 - 1.0 / 8.0) / 510.0);  // the wisp
    EXPECT_EQ(shared[1].candidate.world[0], wisp_x);
    EXPECT_DOUBLE_EQ(shared[2].candidate.probability, static_cast<double>(byte_probability(254)));  // share 1: its peak
    EXPECT_GT(shared[1].candidate.probability, shared[2].candidate.probability);
}

TEST(Detect, ScoreKeysOfEarlierRunsReadAsTheyRanked) {
    // Stage keys and bundle cards from before peak-share hold only "mean_probability".
    DetectOptions o;
    from_json(nlohmann::json{{"mean_probability", false}}, o);
    EXPECT_EQ(o.score, CandidateScore::Peak);
    from_json(nlohmann::json{{"mean_probability", true}}, o);
    EXPECT_EQ(o.score, CandidateScore::Mean);
    from_json(nlohmann::json{{"threshold", 0.2}}, o);  // a missing key keeps the current value
    EXPECT_EQ(o.score, CandidateScore::Mean);
    // Peak and mean write what they always wrote; peak-share adds its name, and each reads back as itself.
    for (const CandidateScore score : {CandidateScore::Peak, CandidateScore::Mean, CandidateScore::PeakShare}) {
        DetectOptions w;
        w.score = score;
        const nlohmann::json j = w;
        EXPECT_EQ(j.contains("score"), score == CandidateScore::PeakShare);
        DetectOptions r;
        r.score = score == CandidateScore::Peak ? CandidateScore::Mean : CandidateScore::Peak;
        from_json(j, r);
        EXPECT_EQ(r.score, score);
    }
    EXPECT_THROW(from_json(nlohmann::json{{"score", "loudest"}}, o), Error);
}

}  // namespace
}  // namespace nodulecad
