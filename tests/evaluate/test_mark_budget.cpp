// How many nodules each scan's first K marks hit, on a hand-made case: LUNA16's cap rule at K (a tie at the K-th
// mark keeps fewer), marks on unlisted scans left out, and K = 100 gives the official FROC's detected nodules.
#include <gtest/gtest.h>

#include <stdexcept>

#include "nodulecad/evaluate/froc.hpp"
#include "nodulecad/evaluate/mark_budget.hpp"

namespace nodulecad {
namespace {

// s1: nodules A and B; marks a false positive at 0.9, A at 0.8, a false positive at 0.7, B at 0.6.
// s2: nodule C; marks C at 0.5, a false positive at 0.5 (a tie), a false positive at 0.4.
// s3: nodule D, no mark. A mark on scan zz, which is not listed, hits nothing and is not counted.
struct Case {
    std::vector<Annotation> ann{{"s1", {0, 0, 0}, 6}, {"s1", {50, 0, 0}, 6}, {"s2", {0, 0, 0}, 6}, {"s3", {0, 0, 0}, 6}};
    std::vector<std::string> uids{"s1", "s2", "s3"};
    std::vector<Candidate> marks{{"s1", {100, 100, 100}, 0.9}, {"s1", {0, 0, 0}, 0.8}, {"s1", {-100, 0, 0}, 0.7},
                                 {"s1", {50, 0, 0}, 0.6},      {"s2", {1, 0, 0}, 0.5},  {"s2", {80, 0, 0}, 0.5},
                                 {"s2", {0, 90, 0}, 0.4},      {"zz", {0, 0, 0}, 1.0}};
};

TEST(MarkBudget, EachScansFirstKMarksUnderLuna16sCapRule) {
    const Case c;
    const auto y = yield_within_budgets(c.ann, {}, c.uids, c.marks, {1, 2, 3, 100});
    ASSERT_EQ(y.size(), 4u);
    for (const auto& v : y) EXPECT_EQ(v.nodules, 4);
    // K = 1: s1 keeps its false positive; s2's first two tie, so it keeps none.
    EXPECT_EQ(y[0].marks_per_scan, 1);
    EXPECT_EQ(y[0].detected, 0);
    EXPECT_DOUBLE_EQ(y[0].mean_marks, 1.0 / 3);
    // K = 2: A in s1; both of s2's 0.5 marks, C among them.
    EXPECT_EQ(y[1].detected, 2);
    EXPECT_DOUBLE_EQ(y[1].mean_marks, 4.0 / 3);
    // K = 3: still not B (fourth in s1); s2 keeps all three.
    EXPECT_EQ(y[2].detected, 2);
    EXPECT_DOUBLE_EQ(y[2].mean_marks, 2.0);
    // K = 100: every mark on a listed scan; D has none.
    EXPECT_EQ(y[3].detected, 3);
    EXPECT_DOUBLE_EQ(y[3].mean_marks, 7.0 / 3);
    EXPECT_EQ(y[3].detected, evaluate_froc(c.ann, {}, c.uids, c.marks, 100).detected);
}

TEST(MarkBudget, ABudgetOfNothingIsRefused) {
    const Case c;
    EXPECT_THROW(yield_within_budgets(c.ann, {}, c.uids, c.marks, {30, 0}), std::invalid_argument);
}

}  // namespace
}  // namespace nodulecad
