#include <gtest/gtest.h>

#include "nodulecad/core/error.hpp"
#include "nodulecad/evaluate/paired_froc.hpp"

namespace nodulecad {
namespace {

Annotation nod(const std::string& uid, Vec3 w, double d) { return {uid, w, d}; }
Candidate mark(const std::string& uid, Vec3 w, double p) { return {uid, w, p}; }

// 40 scans, one 8-mm nodule each; `hit(s)` says whether the system marks scan s's nodule; four false positives a scan.
struct Cohort {
    std::vector<Annotation> ann;
    std::vector<std::string> uids;
    template <class Hit> std::vector<Candidate> system(Hit hit, double fp_scale) const {
        std::vector<Candidate> res;
        for (std::size_t s = 0; s < uids.size(); ++s) {
            if (hit(static_cast<int>(s))) res.push_back(mark(uids[s], {1, 0, 0}, 0.5 + 0.01 * static_cast<double>(s)));
            for (int f = 0; f < 4; ++f) res.push_back(mark(uids[s], {50.0 + f, 0, 0}, fp_scale * 0.01 * static_cast<double>((s * 7 + f * 13) % 97)));
        }
        return res;
    }
};

Cohort forty_scans() {
    Cohort c;
    for (int s = 0; s < 40; ++s) {
        c.uids.push_back("s" + std::to_string(s));
        c.ann.push_back(nod(c.uids.back(), {0, 0, 0}, 8));
    }
    return c;
}

TEST(PairedFroc, ASystemAgainstItselfDiffersByNothing) {
    const Cohort c = forty_scans();
    const auto a = c.system([](int s) { return s % 3 != 0; }, 1.0);
    const PairedFroc p = compare_froc(c.ann, {}, c.uids, a, a, 200, 3);
    EXPECT_EQ(p.difference, 0.0);
    EXPECT_EQ(p.lo, 0.0);
    EXPECT_EQ(p.hi, 0.0);
    EXPECT_EQ(p.share_b_higher, 0.0);
    EXPECT_EQ(p.share_equal, 1.0);
    EXPECT_TRUE(p.found_by_a_only.empty());
    EXPECT_TRUE(p.found_by_b_only.empty());
    EXPECT_EQ(p.found_by_both, 26);  // s % 3 != 0 for 26 of 0..39
    EXPECT_EQ(p.found_by_neither, 14);
}

TEST(PairedFroc, HandMadeCaseNamesWhoFoundWhat) {
    // Three scans, a nodule each. The baseline marks a's and b's nodules, the other system a's and c's, and one
    // false positive fewer. Each CPM is evaluate_froc's; the difference is theirs.
    const std::vector<Annotation> ann{nod("a", {0, 0, 0}, 10), nod("b", {0, 0, 0}, 10), nod("c", {0, 0, 0}, 10)};
    const std::vector<Candidate> base{mark("a", {1, 0, 0}, 0.9), mark("b", {0, 1, 0}, 0.6), mark("b", {40, 0, 0}, 0.8), mark("c", {40, 0, 0}, 0.7)};
    const std::vector<Candidate> other{mark("a", {1, 0, 0}, 0.9), mark("c", {0, 0, 1}, 0.85), mark("b", {40, 0, 0}, 0.5)};
    const std::vector<std::string> uids{"a", "b", "c"};
    const PairedFroc p = compare_froc(ann, {}, uids, base, other, 0, 0);
    ASSERT_EQ(p.a.size(), 1u);
    ASSERT_EQ(p.b.size(), 1u);
    EXPECT_DOUBLE_EQ(p.a[0].cpm, evaluate_froc(ann, {}, uids, base).cpm);
    EXPECT_DOUBLE_EQ(p.b[0].cpm, evaluate_froc(ann, {}, uids, other).cpm);
    // Baseline: 0.9 T, 0.8 F, 0.7 F, 0.6 T (c's missed) -> 1/3 below 2/3 FP a scan, 2/3 from there: 1/8, 1/4
    // and 1/2 at 1/3, 1 to 8 at 2/3.
    EXPECT_DOUBLE_EQ(p.a_cpm, (3 * (1.0 / 3) + 4 * (2.0 / 3)) / 7);
    // Other: 0.9 T, 0.85 T, 0.5 F -> 2/3 at every point.
    EXPECT_DOUBLE_EQ(p.b_cpm, 2.0 / 3);
    EXPECT_DOUBLE_EQ(p.difference, p.b_cpm - p.a_cpm);
    EXPECT_DOUBLE_EQ(p.sensitivity_difference[0], 1.0 / 3);
    EXPECT_DOUBLE_EQ(p.sensitivity_difference[6], 0.0);
    ASSERT_EQ(p.found_by_a_only.size(), 1u);
    EXPECT_EQ(p.found_by_a_only[0].seriesuid, "b");
    ASSERT_EQ(p.found_by_b_only.size(), 1u);
    EXPECT_EQ(p.found_by_b_only[0].seriesuid, "c");
    EXPECT_EQ(p.found_by_both, 1);
    EXPECT_EQ(p.found_by_neither, 0);
    EXPECT_EQ(p.samples, 0);  // no bootstrap asked for
}

TEST(PairedFroc, ResamplesAreTheEvaluationsAndPairTheSystems) {
    const Cohort c = forty_scans();
    const auto a = c.system([](int s) { return s % 3 != 0; }, 1.0);
    const auto b = c.system([](int) { return true; }, 1.0);  // every nodule a's finds and more, the same false positives
    const PairedFroc p = compare_froc(c.ann, {}, c.uids, a, b, 300, 5);
    // Each system's interval is the one evaluate's bootstrap gives with the same seed: the same draws.
    const FrocBootstrap ba = bootstrap_froc(p.a[0], 300, 5), bb = bootstrap_froc(p.b[0], 300, 5);
    EXPECT_EQ(p.a_lo, ba.cpm_lo);
    EXPECT_EQ(p.a_hi, ba.cpm_hi);
    EXPECT_EQ(p.b_lo, bb.cpm_lo);
    EXPECT_EQ(p.b_hi, bb.cpm_hi);
    // Paired: b is at least as good on every resample, so the difference's interval is above 0 even where the two
    // marginal intervals overlap.
    EXPECT_GT(p.difference, 0);
    EXPECT_GT(p.lo, 0);
    EXPECT_LE(p.lo, p.difference);
    EXPECT_GE(p.hi, p.difference);
    EXPECT_EQ(p.share_b_higher, 1.0);
    EXPECT_EQ(p.found_by_b_only.size(), 14u);
    EXPECT_TRUE(p.found_by_a_only.empty());
    // Swapped, the difference changes sign and so does its interval.
    const PairedFroc q = compare_froc(c.ann, {}, c.uids, b, a, 300, 5);
    EXPECT_DOUBLE_EQ(q.difference, -p.difference);
    EXPECT_DOUBLE_EQ(q.lo, -p.hi);
    EXPECT_DOUBLE_EQ(q.hi, -p.lo);
    EXPECT_EQ(q.share_b_higher, 0.0);
}

// Two runs (two training seeds, say), each on its own scans. Below, one system's second-run probabilities are on
// a scale 128 times smaller (a power of 2: the same order and ties), as a reduction's `product` is beside another
// run's `replace`.
struct TwoRuns {
    Cohort first, second;
    std::vector<Candidate> a1, a2;
    std::vector<Annotation> ann;
};

TwoRuns two_runs() {
    TwoRuns t;
    t.first = forty_scans();
    t.second = forty_scans();
    for (auto& uid : t.second.uids) uid = "r2-" + uid;
    for (auto& n : t.second.ann) n.seriesuid = "r2-" + n.seriesuid;
    t.ann = t.first.ann;
    t.ann.insert(t.ann.end(), t.second.ann.begin(), t.second.ann.end());
    t.a1 = t.first.system([](int s) { return s % 3 != 0; }, 1.0);
    t.a2 = t.second.system([](int s) { return s % 4 != 0; }, 1.0);
    return t;
}

std::vector<Candidate> scaled(std::vector<Candidate> c, double f) {
    for (auto& m : c) m.probability *= f;
    return c;
}

std::vector<Candidate> joined(std::vector<Candidate> x, const std::vector<Candidate>& y) {
    x.insert(x.end(), y.begin(), y.end());
    return x;
}

TEST(PairedFroc, GroupsAreScoredEachOnItsOwnScale) {
    const TwoRuns t = two_runs();
    // B is A with the second run's probabilities shrunk: within each run the ranking is A's, so no difference.
    const std::vector<ComparisonGroup> groups{{t.first.uids, t.a1, t.a1}, {t.second.uids, t.a2, scaled(t.a2, 1.0 / 128)}};
    const PairedFroc p = compare_froc(t.ann, {}, groups, 200, 7);
    ASSERT_EQ(p.a.size(), 2u);
    EXPECT_DOUBLE_EQ(p.a[0].cpm, evaluate_froc(t.ann, {}, t.first.uids, t.a1).cpm);
    EXPECT_DOUBLE_EQ(p.a[1].cpm, evaluate_froc(t.ann, {}, t.second.uids, t.a2).cpm);
    EXPECT_DOUBLE_EQ(p.a_cpm, (p.a[0].cpm + p.a[1].cpm) / 2);
    EXPECT_EQ(p.difference, 0.0);
    EXPECT_EQ(p.lo, 0.0);
    EXPECT_EQ(p.hi, 0.0);
    EXPECT_EQ(p.share_equal, 1.0);
    EXPECT_EQ(p.found_by_both, 26 + 30);  // s % 3 != 0 for 26 of 0..39, s % 4 != 0 for 30
    EXPECT_EQ(p.found_by_neither, 14 + 10);
    // Pooled into one FROC, the shrunk run's marks fall below the other's false positives: a difference that is
    // the scales', not the systems'.
    std::vector<std::string> all = t.first.uids;
    all.insert(all.end(), t.second.uids.begin(), t.second.uids.end());
    const PairedFroc pooled = compare_froc(t.ann, {}, all, joined(t.a1, t.a2), joined(t.a1, scaled(t.a2, 1.0 / 128)), 0, 0);
    EXPECT_LT(pooled.difference, -0.02);
}

TEST(PairedFroc, GroupsResampleWithinEachAndAverage) {
    const TwoRuns t = two_runs();
    const auto b1 = t.first.system([](int) { return true; }, 1.0), b2 = t.second.system([](int) { return true; }, 1.0);
    const PairedFroc p = compare_froc(t.ann, {}, {{t.first.uids, t.a1, b1}, {t.second.uids, t.a2, b2}}, 300, 9);
    const PairedFroc g1 = compare_froc(t.ann, {}, t.first.uids, t.a1, b1, 0, 0), g2 = compare_froc(t.ann, {}, t.second.uids, t.a2, b2, 0, 0);
    EXPECT_DOUBLE_EQ(p.difference, (g1.difference + g2.difference) / 2);
    EXPECT_DOUBLE_EQ(p.sensitivity_difference[0], (g1.sensitivity_difference[0] + g2.sensitivity_difference[0]) / 2);
    EXPECT_EQ(p.found_by_b_only.size(), 14u + 10u);
    // B finds every nodule A finds, with the same false positives, on every resample of either group.
    EXPECT_GT(p.lo, 0);
    EXPECT_LE(p.lo, p.difference);
    EXPECT_GE(p.hi, p.difference);
    EXPECT_EQ(p.share_b_higher, 1.0);
    EXPECT_LE(p.a_lo, p.a_cpm);
    EXPECT_GE(p.a_hi, p.a_cpm);
}

TEST(PairedFroc, RefusesOverlappingOrEmptyGroups) {
    const TwoRuns t = two_runs();
    EXPECT_THROW(compare_froc(t.ann, {}, std::vector<ComparisonGroup>{}, 0, 0), Error);
    EXPECT_THROW(compare_froc(t.ann, {}, {{t.first.uids, t.a1, t.a1}, {{}, t.a2, t.a2}}, 0, 0), Error);
    try {
        compare_froc(t.ann, {}, {{t.first.uids, t.a1, t.a1}, {{"r2-s0", "s5"}, t.a2, t.a2}}, 0, 0);
        ADD_FAILURE() << "a scan in two groups was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("scan s5 is listed twice (group 2)"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace nodulecad
