// nodulecad preprocess --data DIR --out PREP: the 2D training dataset (images, masks, index, stats).
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "nodulecad/core/error.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/preprocess/dataset.hpp"

namespace nodulecad::cli {

namespace {

struct PreprocessArgs {
    DatasetOptions o;
    std::vector<double> window{-1000, 400};
    std::string dtype = "float32";
    std::string shard;
};

void run_preprocess(PreprocessArgs a) {
    a.o.window_lo = a.window[0];
    a.o.window_hi = a.window[1];
    a.o.float16 = a.dtype == "float16";
    a.o.shard = shard_for(a.shard);
    const DatasetSummary s = build_dataset(a.o);
    const std::string who = a.o.shard.all() ? "" : "shard " + a.o.shard.describe() + ": ";
    if (!s.written) {
        std::cerr << "preprocess: " << who << s.processed << " scans made, " << s.resumed << " made earlier; " << s.pending
                  << " wait for the other shards (the last to finish writes the dataset, or run preprocess without --shard)\n";
        return;
    }
    for (const auto& uid : s.annotations_without_scan)
        std::cerr << "nodulecad: warning: annotations for " << uid << " but no scan of that seriesuid under " << a.o.data_dir << "\n";
    for (const auto& uid : s.skipped_no_lungs) std::cerr << "nodulecad: warning: " << uid << ": no lungs found, scan skipped\n";
    std::cerr << "preprocess: " << who << s.samples << " samples (" << s.positives << " with nodules; " << s.train << " train, " << s.val
              << " val) from " << s.scans - static_cast<int>(s.skipped_no_lungs.size()) << " scans (" << s.resumed
              << " reused from an earlier run, " << s.skipped_no_lungs.size() << " skipped) -> " << a.o.out_dir << "\n";
}

}  // namespace

void register_preprocess(CLI::App& app) {
    auto args = std::make_shared<PreprocessArgs>();
    args->o.threads = default_thread_count();
    DatasetOptions& o = args->o;
    CLI::App* cmd = app.add_subcommand(
        "preprocess",
        "Build the 2D U-Net training dataset from a LUNA16-style cohort: lung masks, nodule masks (balls of radius\n"
        "diameter/2), every slice a nodule crosses plus sampled nodule-free lung slices, resampled around the lungs.\n"
        "Writes PREP/images.npy (N,C,S,S), masks.npy (N,1,S,S), index.csv (mapping back to scan and world), stats.json.\n"
        "Split by patient. Re-running skips scans already done with the same options.");
    cmd->add_option("--data", o.data_dir, "Cohort folder: subset*/<uid>.mhd (or <uid>.mhd), annotations.csv")->required();
    cmd->add_option("--annotations", o.annotations, "Annotations CSV (default: DATA/annotations.csv)");
    cmd->add_option("--out", o.out_dir, "Output folder")->required();
    cmd->add_option("--size", o.size, "Sample size S (pixels)")->capture_default_str();
    cmd->add_option("--pixel-mm", o.pixel_mm, "Sample pixel size in mm (default: 360 mm / size)");
    cmd->add_option("--context", o.context, "2.5D: K slices above and below as extra channels (C = 2K+1)")->capture_default_str();
    cmd->add_option("--window", args->window, "HU window LO HI mapped to [0, 1]")->expected(2)->capture_default_str();
    cmd->add_flag("--mask-lungs", o.mask_lungs, "Zero the image outside the lung mask");
    cmd->add_option("--negatives", o.negatives_per_positive, "Nodule-free lung slices per nodule slice, per scan")->capture_default_str();
    cmd->add_option("--min-negatives", o.min_negatives_per_scan, "At least this many nodule-free slices per scan")->capture_default_str();
    cmd->add_option("--val-fraction", o.val_fraction, "Share of patients (seriesuids) held out for validation, seeded")->capture_default_str();
    cmd->add_option("--val-subsets", o.val_subsets, "Hold out these LUNA16 subsets instead (e.g. --val-subsets 8 9)");
    cmd->add_option("--dtype", args->dtype, "images.npy element type")->capture_default_str()->check(CLI::IsMember({"float32", "float16"}));
    cmd->add_flag("--legacy-radius", o.legacy_radius, "Nodule masks with the seed system's radius = diameter (its bug), for comparison");
    cmd->add_option("--mask-min-diameter-mm", o.mask_min_diameter_mm,
                    "Draw nodules smaller than this as balls of this diameter in the masks (0: as annotated; docs/model.md)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 100.0));
    cmd->add_option("--seed", o.seed, "Seed for negative sampling and the split")->capture_default_str();
    cmd->add_option("--threads", o.threads, "Scans processed in parallel")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--shard", args->shard,
                    "K/N: make only scans K, K+N, ... (uid order, K from 0), one of N jobs sharing PREP; the last to finish,\n"
                    "or a run without --shard, writes the dataset (docs/distributed.md). Under torchrun/srun: the rank's shard");
    cmd->callback([args] { run_preprocess(*args); });
}

}  // namespace nodulecad::cli
