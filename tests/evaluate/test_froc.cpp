#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "nodulecad/evaluate/froc.hpp"

namespace nodulecad {
namespace {

Annotation nod(const std::string& uid, Vec3 w, double d) { return {uid, w, d}; }
Candidate mark(const std::string& uid, Vec3 w, double p) { return {uid, w, p}; }

TEST(Froc, HandWorkedCurveAndCpm) {
    // Two scans, one nodule each; a hit and a false positive in each. Entries (0.9 T) (0.8 F) (0.7 T) (0.6 F):
    // FPs/scan 0, 0, .5, .5, 1 against sensitivity 0, .5, .5, 1, 1 -> 0.5 at 1/8 and 1/4, 1 from 1/2 on.
    const std::vector<Annotation> ann{nod("a", {0, 0, 0}, 10), nod("b", {0, 0, 0}, 10)};
    const std::vector<Candidate> res{mark("a", {1, 0, 0}, 0.9), mark("a", {50, 0, 0}, 0.8), mark("b", {0, 2, 0}, 0.7), mark("b", {0, 60, 0}, 0.6)};
    const FrocResult r = evaluate_froc(ann, {}, {"a", "b"}, res);
    EXPECT_EQ(r.curve.fps, (std::vector<double>{0, 0, 0.5, 0.5, 1}));
    EXPECT_EQ(r.curve.sensitivity, (std::vector<double>{0, 0.5, 0.5, 1, 1}));
    EXPECT_EQ(r.sensitivities, (std::array<double, 7>{0.5, 0.5, 1, 1, 1, 1, 1}));
    EXPECT_DOUBLE_EQ(r.cpm, 6.0 / 7);
    EXPECT_EQ(r.detected, 2);
    EXPECT_EQ(r.false_positives, 2);
    // Four listed scans (two without anything): FPs are divided by all four.
    const FrocResult four = evaluate_froc(ann, {}, {"a", "b", "c", "d"}, res);
    EXPECT_EQ(four.curve.fps, (std::vector<double>{0, 0, 0.25, 0.25, 0.5}));
    EXPECT_DOUBLE_EQ(four.cpm, 6.5 / 7);
}

TEST(Froc, HitsAreStrictlyInsideTheRadius) {
    const std::vector<Annotation> ann{nod("a", {0, 0, 0}, 10)};
    EXPECT_EQ(evaluate_froc(ann, {}, {"a"}, {mark("a", {5, 0, 0}, 0.5)}).detected, 0);   // on the sphere: a miss + an FP
    EXPECT_EQ(evaluate_froc(ann, {}, {"a"}, {mark("a", {5, 0, 0}, 0.5)}).false_positives, 1);
    EXPECT_EQ(evaluate_froc(ann, {}, {"a"}, {mark("a", {3, 3, 2.6}, 0.5)}).detected, 1);  // 9 + 9 + 6.76 < 25
}

TEST(Froc, ExcludedFindingsAndUnknownDiameters) {
    const std::vector<Annotation> ex{nod("a", {0, 0, 0}, -1)};  // unknown diameter: 10 mm
    const FrocResult in = evaluate_froc({}, ex, {"a"}, {mark("a", {4.9, 0, 0}, 0.5)});
    EXPECT_EQ(in.ignored_on_excluded, 1);
    EXPECT_EQ(in.false_positives, 0);
    const FrocResult out = evaluate_froc({}, ex, {"a"}, {mark("a", {5.1, 0, 0}, 0.5)});
    EXPECT_EQ(out.false_positives, 1);
    // A mark on both a nodule and an excluded finding is a true positive: nodules come first.
    const FrocResult both = evaluate_froc({nod("a", {0, 0, 0}, 6)}, ex, {"a"}, {mark("a", {1, 0, 0}, 0.5)});
    EXPECT_EQ(both.detected, 1);
    EXPECT_EQ(both.ignored_on_excluded, 0);
}

TEST(Froc, DoubleDetectionsAndSharedMarks) {
    // Two marks on one nodule: detected once with the higher probability, the other neither TP nor FP.
    const FrocResult d = evaluate_froc({nod("a", {0, 0, 0}, 10)}, {}, {"a"}, {mark("a", {1, 0, 0}, 0.3), mark("a", {0, 1, 0}, 0.8)});
    EXPECT_EQ(d.detected, 1);
    EXPECT_EQ(d.double_detections, 1);
    EXPECT_EQ(d.false_positives, 0);
    EXPECT_EQ(d.curve.threshold.back(), 0.8);
    // One mark between two overlapping nodules counts for both.
    const FrocResult s = evaluate_froc({nod("a", {0, 0, 0}, 10), nod("a", {4, 0, 0}, 10)}, {}, {"a"}, {mark("a", {2, 0, 0}, 0.6)});
    EXPECT_EQ(s.detected, 2);
    EXPECT_EQ(s.false_positives, 0);
}

TEST(Froc, CapKeepsMarksStrictlyAboveThe101stProbability) {
    std::vector<Candidate> res;
    for (int i = 0; i < 99; ++i) res.push_back(mark("a", {100.0 + i, 0, 0}, 0.9 - i * 1e-3));
    for (int i = 0; i < 3; ++i) res.push_back(mark("a", {300.0 + i, 0, 0}, 0.5));  // ties at the 100th-102nd places
    const FrocResult r = evaluate_froc({}, {}, {"a"}, res);
    EXPECT_EQ(r.false_positives, 99);  // the tied marks at the threshold are all dropped
    EXPECT_EQ(r.marks_dropped_by_cap, 3);
    res.resize(100);
    EXPECT_EQ(evaluate_froc({}, {}, {"a"}, res).false_positives, 100);  // 100 marks: no cap
}

TEST(Froc, ScansWithoutMarksOrNodulesAndUnlistedScans) {
    const std::vector<Annotation> ann{nod("a", {0, 0, 0}, 8), nod("b", {0, 0, 0}, 8)};
    const FrocResult r = evaluate_froc(ann, {}, {"a", "b", "c"}, {mark("a", {0, 0, 1}, 0.7), mark("c", {9, 9, 9}, 0.4), mark("zz", {0, 0, 0}, 0.9)});
    EXPECT_EQ(r.nodules, 2);
    EXPECT_EQ(r.detected, 1);
    EXPECT_EQ(r.missed, 1);  // b: no marks, stays in the denominator
    ASSERT_EQ(r.missed_nodules.size(), 1u);
    EXPECT_EQ(r.missed_nodules[0].seriesuid, "b");
    EXPECT_EQ(r.false_positives, 1);  // c
    EXPECT_EQ(r.marks_on_unlisted_scans, 1);
    EXPECT_DOUBLE_EQ(r.sensitivities[6], 0.5);
}

TEST(Froc, SystemWithoutFalsePositives) {
    const FrocResult r = evaluate_froc({nod("a", {0, 0, 0}, 8), nod("b", {0, 0, 0}, 8)}, {}, {"a", "b"},
                                       {mark("a", {0, 0, 1}, 0.7), mark("b", {0, 1, 0}, 0.2)});
    for (double f : r.curve.fps) EXPECT_EQ(f, 0.0);
    EXPECT_DOUBLE_EQ(r.cpm, 1.0);
}

TEST(Froc, InterpFollowsNumpy) {
    const std::vector<double> xp{0, 0, 0.5, 0.5, 1}, fp{0, 0.5, 0.5, 1, 1};
    EXPECT_EQ(interp(-1, xp, fp), 0);
    EXPECT_EQ(interp(0, xp, fp), 0.5);   // last of the equal xp
    EXPECT_EQ(interp(0.5, xp, fp), 1);   // vertical step: the later value
    EXPECT_EQ(interp(0.75, xp, fp), 1);
    EXPECT_EQ(interp(2, xp, fp), 1);
    EXPECT_DOUBLE_EQ(interp(0.25, {0, 1}, {0, 1}), 0.25);
}

TEST(Froc, WeightedScansEqualPooledCopies) {
    // Scan a drawn twice, b never, c once: the weighted curve equals the curve of the pooled entries.
    const std::vector<Annotation> ann{nod("a", {0, 0, 0}, 10), nod("b", {0, 0, 0}, 10), nod("c", {0, 0, 0}, 10)};
    const std::vector<Candidate> res{mark("a", {1, 0, 0}, 0.9), mark("a", {50, 0, 0}, 0.8), mark("b", {0, 2, 0}, 0.7),
                                     mark("c", {0, 60, 0}, 0.6), mark("c", {0, 0, 2}, 0.8)};
    const FrocResult r = evaluate_froc(ann, {}, {"a", "b", "c"}, res);
    std::vector<FrocEntry> pooled = r.per_scan[0];
    pooled.insert(pooled.end(), r.per_scan[0].begin(), r.per_scan[0].end());
    pooled.insert(pooled.end(), r.per_scan[2].begin(), r.per_scan[2].end());
    const FrocCurve w = froc_curve_weighted(r, {2, 0, 1}), p = froc_curve(pooled, 3);
    EXPECT_EQ(w.fps, p.fps);
    EXPECT_EQ(w.sensitivity, p.sensitivity);
    EXPECT_EQ(w.threshold, p.threshold);
    const FrocCurve one = froc_curve_weighted(r, {1, 1, 1});
    EXPECT_EQ(one.fps, r.curve.fps);
    EXPECT_EQ(one.sensitivity, r.curve.sensitivity);
}

TEST(Froc, RealLuna16TablesPerfectSystem) {
    const std::string dir = NODULECAD_LUNA16_DIR;
    if (!std::filesystem::exists(dir + "/annotations.csv")) GTEST_SKIP() << "no LUNA16 tables at " << NODULECAD_LUNA16_DIR << " (CMake: -DNODULECAD_LUNA16_DATA=...)";
    const auto ann = read_annotations(dir + "/annotations.csv");
    const auto exc = read_annotations(dir + "/annotations_excluded.csv");
    const auto uids = read_seriesuids(dir + "/seriesuids.csv");
    // A mark on every nodule (0.9) and on the first excluded finding of each scan (0.5): all found, nothing false.
    std::vector<Candidate> res;
    for (const auto& a : ann) res.push_back({a.seriesuid, a.world, 0.9});
    std::set<std::string> seen;
    for (const auto& e : exc)
        if (seen.insert(e.seriesuid).second) res.push_back({e.seriesuid, e.world, 0.5});
    const FrocResult r = evaluate_froc(ann, exc, uids, res);
    EXPECT_EQ(r.scans, 888);
    EXPECT_EQ(r.nodules, 1186);
    EXPECT_EQ(r.detected, 1186);
    EXPECT_EQ(r.false_positives, 0);
    EXPECT_DOUBLE_EQ(r.cpm, 1.0);
    // Each mark on an excluded finding is either ignored or falls on a nodule that already has its own mark (a
    // double detection) — never a false positive.
    EXPECT_EQ(r.ignored_on_excluded + r.double_detections, static_cast<std::int64_t>(seen.size()));
    EXPECT_GT(r.ignored_on_excluded, 400);
}

TEST(Froc, BootstrapIsSeededAndBracketsTheEstimate) {
    std::vector<Annotation> ann;
    std::vector<Candidate> res;
    std::vector<std::string> uids;
    for (int s = 0; s < 40; ++s) {
        const std::string u = std::string("s").append(std::to_string(s));
        uids.push_back(u);
        ann.push_back(nod(u, {0, 0, 0}, 8));
        if (s % 3) res.push_back(mark(u, {1, 0, 0}, 0.5 + 0.01 * s));
        for (int f = 0; f < 4; ++f) res.push_back(mark(u, {50.0 + f, 0, 0}, 0.01 * ((s * 7 + f * 13) % 97)));
    }
    const FrocResult r = evaluate_froc(ann, {}, uids, res);
    const FrocBootstrap a = bootstrap_froc(r, 300, 5), b = bootstrap_froc(r, 300, 5), c = bootstrap_froc(r, 300, 6);
    EXPECT_EQ(a.lo, b.lo);
    EXPECT_EQ(a.cpm_hi, b.cpm_hi);
    EXPECT_TRUE(a.lo != c.lo || a.hi != c.hi || a.cpm_lo != c.cpm_lo);
    EXPECT_LE(a.cpm_lo, r.cpm);
    EXPECT_GE(a.cpm_hi, r.cpm);
    EXPECT_LT(a.cpm_lo, a.cpm_hi);
    for (std::size_t k = 0; k < 7; ++k) EXPECT_LE(a.lo[k], a.hi[k]);
}

}  // namespace
}  // namespace nodulecad
