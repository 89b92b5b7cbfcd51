#include "nodulecad/evaluate/classification.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "nodulecad/core/error.hpp"

namespace nodulecad {

BinaryScores binary_scores(const std::vector<double>& p, const std::vector<int>& y, double threshold) {
    if (p.size() != y.size()) throw Error("binary_scores: probabilities and labels differ in length");
    BinaryScores s;
    for (std::size_t n = 0; n < p.size(); ++n) {
        const bool pos = y[n] != 0, called = p[n] >= threshold;
        (pos ? s.positives : s.negatives) += 1;
        if (called) (pos ? s.true_positives : s.false_positives) += 1;
    }
    // AUC = (sum of positive ranks - P (P + 1) / 2) / (P N), ranks averaged over ties.
    if (s.positives == 0 || s.negatives == 0) {
        s.auc = std::numeric_limits<double>::quiet_NaN();
    } else {
        std::vector<std::size_t> order(p.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return p[a] < p[b]; });
        double rank_sum = 0;
        for (std::size_t i = 0; i < order.size();) {
            std::size_t j = i;
            while (j < order.size() && p[order[j]] == p[order[i]]) ++j;
            const double rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;  // mean of ranks i+1..j
            for (std::size_t k = i; k < j; ++k)
                if (y[order[k]] != 0) rank_sum += rank;
            i = j;
        }
        const auto P = static_cast<double>(s.positives), N = static_cast<double>(s.negatives);
        s.auc = (rank_sum - P * (P + 1) / 2) / (P * N);
    }
    const std::int64_t called = s.true_positives + s.false_positives;
    s.precision = called ? static_cast<double>(s.true_positives) / static_cast<double>(called) : 0;
    s.recall = s.positives ? static_cast<double>(s.true_positives) / static_cast<double>(s.positives) : 0;
    s.f1 = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0;
    return s;
}

}  // namespace nodulecad
