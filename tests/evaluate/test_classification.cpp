#include <gtest/gtest.h>

#include <cmath>

#include "nodulecad/evaluate/classification.hpp"

namespace nodulecad {
namespace {

TEST(Classification, AucMatchesTheRankStatistic) {
    // sklearn.metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    EXPECT_DOUBLE_EQ(binary_scores({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}).auc, 0.75);
    // Ties count half: roc_auc_score([0, 1, 0, 1, 1], [0.2, 0.2, 0.6, 0.6, 0.9]) == 0.6666...
    EXPECT_NEAR(binary_scores({0.2, 0.2, 0.6, 0.6, 0.9}, {0, 1, 0, 1, 1}).auc, 2.0 / 3.0, 1e-15);
    EXPECT_DOUBLE_EQ(binary_scores({0.5, 0.5}, {0, 1}).auc, 0.5);
    EXPECT_DOUBLE_EQ(binary_scores({0.1, 0.2, 0.8, 0.9}, {0, 0, 1, 1}).auc, 1.0);
    EXPECT_DOUBLE_EQ(binary_scores({0.9, 0.8, 0.2, 0.1}, {0, 0, 1, 1}).auc, 0.0);
    EXPECT_TRUE(std::isnan(binary_scores({0.3, 0.7}, {1, 1}).auc));
}

TEST(Classification, PrecisionRecallF1AtTheThreshold) {
    const BinaryScores s = binary_scores({0.9, 0.6, 0.4, 0.2, 0.5}, {1, 0, 1, 0, 1});
    EXPECT_EQ(s.true_positives, 2);  // 0.9 and 0.5 (>= 0.5 is called positive)
    EXPECT_EQ(s.false_positives, 1);
    EXPECT_DOUBLE_EQ(s.precision, 2.0 / 3.0);
    EXPECT_DOUBLE_EQ(s.recall, 2.0 / 3.0);
    EXPECT_DOUBLE_EQ(s.f1, 2.0 / 3.0);
    const BinaryScores none = binary_scores({0.1, 0.2}, {1, 0});
    EXPECT_EQ(none.precision, 0);
    EXPECT_EQ(none.f1, 0);
    EXPECT_DOUBLE_EQ(binary_scores({0.1, 0.2}, {1, 0}, 0.15).recall, 0.0);
    EXPECT_DOUBLE_EQ(binary_scores({0.1, 0.2}, {1, 0}, 0.05).precision, 0.5);
}

}  // namespace
}  // namespace nodulecad
