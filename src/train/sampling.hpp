#pragma once
// Which training samples an epoch visits, in which order. Plain C++ (no torch), shared by the U-Net trainer.
#include <cstdint>
#include <string>
#include <vector>

#include "core/random.hpp"

namespace nodulecad {

struct SamplePool {
    std::vector<std::int64_t> rows;       // the training samples (rows of index.csv)
    std::vector<bool> positive;           // per row of index.csv: a nodule crosses the slice
    std::vector<double> nodule_weight;    // per row of index.csv: sum over its nodules of 1 / slices that nodule crosses
};

// "slices": shuffled passes over pool.rows, cycling until `wanted` samples. "nodules": as many negatives as
// "slices" would give on average (shuffled passes over them), and the positive share drawn with replacement in
// proportion to nodule_weight, so that each nodule comes up equally often — by slice, a 25 mm nodule on 2.5 mm
// slices would be drawn five times as often as a 5 mm one. The result is shuffled; `rng` alone decides it.
std::vector<std::int64_t> sample_epoch(const SamplePool& pool, std::size_t wanted, const std::string& sampling, Rng& rng);

}  // namespace nodulecad
