// Sensitivity by subgroup, on a hand-made case: the other nodules count as excluded findings, the false positives
// per scan are the whole evaluation's, and the group of all nodules gives the official sensitivities.
#include <gtest/gtest.h>

#include "nodulecad/evaluate/froc.hpp"
#include "nodulecad/evaluate/subgroups.hpp"

namespace nodulecad {
namespace {

// Scan s1: A (5 mm) hit at 0.9, B (12 mm) hit at 0.6, a false positive at 0.8. Scan s2: C (5 mm) hit at 0.1, below
// its two false positives (0.5, 0.2). Three false positives over two scans: 1.5 a scan at the lowest threshold.
struct Case {
    std::vector<Annotation> ann{{"s1", {0, 0, 0}, 5}, {"s1", {50, 0, 0}, 12}, {"s2", {0, 0, 0}, 5}};
    std::vector<std::string> uids{"s1", "s2"};
    std::vector<Candidate> marks{{"s1", {0, 0, 0}, 0.9},   {"s1", {100, 100, 100}, 0.8}, {"s1", {50, 0, 0}, 0.6},
                                 {"s2", {100, 0, 0}, 0.5}, {"s2", {200, 0, 0}, 0.2},     {"s2", {0, 0, 0}, 0.1}};
};

TEST(Subgroups, DiameterBinsAreLuna16s) {
    const std::vector<Annotation> ann{{"a", {}, 3.0}, {"a", {}, 3.99}, {"a", {}, 4.0}, {"a", {}, 9.9}, {"a", {}, 20.0}, {"a", {}, 2.5}};
    const auto groups = diameter_groups(ann);
    ASSERT_EQ(groups.size(), 5u);  // 10-20 mm is empty and left out
    EXPECT_EQ(groups[0].name, "< 3 mm");
    EXPECT_EQ(groups[0].members, (std::vector<std::size_t>{5}));
    EXPECT_EQ(groups[1].name, "3-4 mm");
    EXPECT_EQ(groups[1].members, (std::vector<std::size_t>{0, 1}));
    EXPECT_EQ(groups[2].name, "4-6 mm");
    EXPECT_EQ(groups[2].members, (std::vector<std::size_t>{2}));
    EXPECT_EQ(groups[3].name, "6-10 mm");
    EXPECT_EQ(groups[4].name, ">= 20 mm");
    EXPECT_EQ(groups[4].members, (std::vector<std::size_t>{4}));
    for (const auto& g : groups) EXPECT_EQ(g.family, "diameter");
}

TEST(Subgroups, HandMadeCase) {
    const Case c;
    const auto groups = diameter_groups(c.ann);
    ASSERT_EQ(groups.size(), 2u);
    const auto s = subgroup_sensitivities(c.ann, {}, c.uids, c.marks, groups);
    ASSERT_EQ(s.size(), 2u);
    // 4-6 mm = {A, C}: A at 0 FPs a scan, C only below every false positive (1.5 a scan).
    EXPECT_EQ(s[0].name, "4-6 mm");
    EXPECT_EQ(s[0].nodules, 2);
    EXPECT_EQ(s[0].detected, 2);
    EXPECT_DOUBLE_EQ(s[0].sensitivity[0], 0.5);
    EXPECT_DOUBLE_EQ(s[0].sensitivity[1], 1.0);
    EXPECT_DOUBLE_EQ(s[0].sensitivity[2], 1.0);
    // 10-20 mm = {B}: found at 0.5 FPs a scan. A's mark at 0.9 is ignored here, not a false positive.
    EXPECT_EQ(s[1].name, "10-20 mm");
    EXPECT_EQ(s[1].nodules, 1);
    for (double v : s[1].sensitivity) EXPECT_DOUBLE_EQ(v, 1.0);
}

TEST(Subgroups, AllNodulesGiveTheOfficialSensitivities) {
    const Case c;
    NoduleGroup all{"all", "all", {0, 1, 2}};
    const auto s = subgroup_sensitivities(c.ann, {}, c.uids, c.marks, {all});
    const FrocResult r = evaluate_froc(c.ann, {}, c.uids, c.marks);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].nodules, r.nodules);
    EXPECT_EQ(s[0].detected, r.detected);
    EXPECT_DOUBLE_EQ(s[0].sensitivity[0], r.sensitivities[3]);
    EXPECT_DOUBLE_EQ(s[0].sensitivity[1], r.sensitivities[4]);
    EXPECT_DOUBLE_EQ(s[0].sensitivity[2], r.sensitivities[6]);
    EXPECT_DOUBLE_EQ(r.sensitivities[3], 2.0 / 3.0);  // A and B by 1 FP a scan, C only at 1.5
}

TEST(Subgroups, GroupsWithoutListedNodulesAreLeftOut) {
    const Case c;
    const auto s = subgroup_sensitivities(c.ann, {}, {"s2"}, c.marks, diameter_groups(c.ann));
    ASSERT_EQ(s.size(), 1u);  // B's scan is not listed
    EXPECT_EQ(s[0].name, "4-6 mm");
    EXPECT_EQ(s[0].nodules, 1);
}

}  // namespace
}  // namespace nodulecad
