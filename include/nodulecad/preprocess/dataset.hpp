#pragma once
// The 2D training dataset (replaces the seed's trainImages.npy / trainMasks.npy):
//   PREP/images.npy  (N, C, S, S) float32 or float16, HU window mapped to [0, 1], C = 2 * context + 1 slices
//   PREP/masks.npy   (N, 1, S, S) uint8 nodule masks (1 = nodule)
//   PREP/index.csv   one row per sample: where it came from and how to map its pixels back to the scan
//   PREP/stats.json  train mean/std of the images, counts, skipped scans, the options used
//   PREP/parts/      one finished part per scan (what makes a re-run resume)
// Samples: every slice a nodule mask crosses (positives) plus sampled lung slices without nodules (negatives).
// Pixels are resampled to a fixed size around the lungs: pixel (u, v) of a sample is the world point
//   (x0_mm + u * pixel_mm, y0_mm + v * pixel_mm, world_z)
// on the scan's slice `slice` (u along world +x, v along world +y, whatever the direction matrix).
// The split is by patient (seriesuid), never by slice.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "nodulecad/core/launch.hpp"

namespace nodulecad {

struct DatasetOptions {
    std::string data_dir;            // LUNA16 layout: subset*/<uid>.mhd (or <uid>.mhd directly)
    std::string annotations;         // default: data_dir/annotations.csv
    std::string out_dir;
    int size = 512;                  // output S x S
    double pixel_mm = 0;             // 0: 360 mm field of view / size
    int context = 0;                 // K slices above and below as extra channels
    double window_lo = -1000, window_hi = 400;
    bool mask_lungs = false;         // zero the image outside the lung mask
    double negatives_per_positive = 1.0;
    int min_negatives_per_scan = 2;  // so scans without nodules contribute too
    double val_fraction = 0.2;
    std::vector<int> val_subsets;    // if not empty: these LUNA16 subsets are the validation split
    bool float16 = false;
    bool legacy_radius = false;
    double mask_min_diameter_mm = 0;  // nodules smaller than this drawn as balls of this diameter (0: as annotated)
    std::uint64_t seed = 0;
    int threads = 1;
    // Only scans K, K + N, ... of the uid order get their part made (docs/distributed.md); the dataset is written
    // once every scan's part is there — by the shard that finds them all, or by a run without a shard.
    Shard shard;

    void check() const;  // OptionError for values no dataset can be made with
    double sample_pixel_mm() const { return pixel_mm > 0 ? pixel_mm : 360.0 / size; }  // pixel_mm, or its default
};
// What decides the samples (not the folders, the annotations path or threads): stats.json's "options" and the
// pipeline's stage key.
void to_json(nlohmann::json& j, const DatasetOptions& o);

struct DatasetSummary {
    int scans = 0, processed = 0, resumed = 0;
    int pending = 0;      // sharded: other shards' scans without their part yet (then no dataset is written)
    bool written = true;  // images.npy, masks.npy, index.csv and stats.json written (every part was there)
    std::int64_t samples = 0, positives = 0, train = 0, val = 0;
    double train_mean = 0, train_std = 0;
    std::vector<std::string> skipped_no_lungs;            // uids
    std::vector<std::string> annotations_without_scan;    // uids with annotations but no scan under data_dir
};

DatasetSummary build_dataset(const DatasetOptions& opts);

}  // namespace nodulecad
