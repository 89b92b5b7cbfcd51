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

}  // namespace nodulecad
