#include "nodulecad/train/sampling.hpp"

#include <algorithm>
#include <cmath>

#include "nodulecad/core/error.hpp"

namespace nodulecad {

namespace {

// Shuffled passes over `rows` appended to `order` until it holds `wanted`.
void cycle(const std::vector<std::int64_t>& rows, std::size_t wanted, std::vector<std::int64_t>& order, Rng& rng) {
    while (!rows.empty() && order.size() < wanted) {
        std::vector<std::int64_t> pass = rows;
        shuffle(pass, rng);
        pass.resize(std::min(pass.size(), wanted - order.size()));
        order.insert(order.end(), pass.begin(), pass.end());
    }
}

}  // namespace

std::vector<std::int64_t> sample_epoch(const SamplePool& pool, std::size_t wanted, Sampling sampling, Rng& rng) {
    std::vector<std::int64_t> order;
    if (sampling == Sampling::Slices) {
        cycle(pool.rows, wanted, order, rng);
        return order;
    }
    std::vector<std::int64_t> negatives, positives;
    std::vector<double> cumulative;
    for (const std::int64_t r : pool.rows) {
        const auto u = static_cast<std::size_t>(r);
        if (u >= pool.positive.size() || u >= pool.nodule_weight.size()) throw Error("sample " + std::to_string(r) + " has no nodule weight");
        if (pool.positive[u] && pool.nodule_weight[u] > 0) {
            positives.push_back(r);
            cumulative.push_back((cumulative.empty() ? 0.0 : cumulative.back()) + pool.nodule_weight[u]);
        } else {
            negatives.push_back(r);
        }
    }
    const std::size_t n_pos = negatives.empty() ? wanted
                              : positives.empty()
                                  ? 0
                                  : static_cast<std::size_t>(std::llround(static_cast<double>(wanted) * static_cast<double>(positives.size()) /
                                                                          static_cast<double>(pool.rows.size())));
    for (std::size_t i = 0; i < n_pos; ++i) {
        const double u = rng.uniform() * cumulative.back();
        const auto at = static_cast<std::size_t>(std::upper_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin());
        order.push_back(positives[std::min(at, positives.size() - 1)]);
    }
    cycle(negatives, wanted, order, rng);
    shuffle(order, rng);
    return order;
}

SamplePool weigh_by_scores(SamplePool pool, const std::vector<double>& scores) {
    if (scores.size() != pool.nodule_weight.size())
        throw Error(std::to_string(scores.size()) + " nodule scores for " + std::to_string(pool.nodule_weight.size()) + " samples");
    for (std::size_t r = 0; r < scores.size(); ++r)
        if (!std::isnan(scores[r])) pool.nodule_weight[r] *= 1.25 - std::clamp(scores[r], 0.0, 1.0);
    return pool;
}

}  // namespace nodulecad
