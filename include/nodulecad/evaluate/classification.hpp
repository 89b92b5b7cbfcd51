#pragma once
// Scores of a binary classifier from its probabilities (the seed computed its ROC from hard 0/1 labels, which
// gives one point instead of a curve): ROC AUC with ties counted half (the Mann-Whitney statistic, equal to
// sklearn's roc_auc_score), and precision, recall and F1 at a threshold.
#include <cstdint>
#include <vector>

namespace nodulecad {

struct BinaryScores {
    double auc = 0;  // NaN when one class is absent
    double precision = 0, recall = 0, f1 = 0;  // at `threshold` (p >= threshold is positive); 0 when undefined
    std::int64_t positives = 0, negatives = 0, true_positives = 0, false_positives = 0;
};

// labels: 0 or 1, one per probability.
BinaryScores binary_scores(const std::vector<double>& probability, const std::vector<int>& labels, double threshold = 0.5);

}  // namespace nodulecad
