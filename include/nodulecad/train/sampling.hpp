#pragma once
// Which training samples an epoch visits, in which order. Plain C++ (no torch), shared by the U-Net trainer.
#include <cstdint>
#include <string>
#include <vector>

#include "nodulecad/core/enum_names.hpp"
#include "nodulecad/core/random.hpp"

namespace nodulecad {

// How an epoch draws its samples.
enum class Sampling {
    Slices,   // each sample equally often
    Nodules,  // each nodule equally often (by the nodule_weight column preprocess writes); negatives keep their share
};
inline constexpr EnumName<Sampling> kSamplingNames[] = {{Sampling::Slices, "slices"}, {Sampling::Nodules, "nodules"}};

struct SamplePool {
    std::vector<std::int64_t> rows;       // the training samples (rows of index.csv)
    std::vector<bool> positive;           // per row of index.csv: a nodule crosses the slice
    std::vector<double> nodule_weight;    // per row of index.csv: sum over its nodules of 1 / slices that nodule crosses
};

// Slices: shuffled passes over pool.rows, cycling until `wanted` samples. Nodules: as many negatives as Slices
// would give on average (shuffled passes over them), and the positive share drawn with replacement in
// proportion to nodule_weight, so that each nodule comes up equally often — by slice, a 25 mm nodule on 2.5 mm
// slices would be drawn five times as often as a 5 mm one. The result is shuffled; `rng` alone decides it.
std::vector<std::int64_t> sample_epoch(const SamplePool& pool, std::size_t wanted, Sampling sampling, Rng& rng);

// Nodule mining: the pool with each scored row's nodule_weight times (1.25 - its score), the score (clamped to
// [0, 1]) being how well the network segmented that sample's nodules last epoch; `scores` has one per row of
// index.csv, NaN where a row was not scored (its weight stays). A sample scoring 0 comes up five times as often as
// one scoring 1: the nodules a 2D network misses are few and alike (small ones against vessels; docs/model.md),
// and drawn uniformly they come up as rarely as the easy ones. Error when `scores` is not one per row.
SamplePool weigh_by_scores(SamplePool pool, const std::vector<double>& scores);

}  // namespace nodulecad
