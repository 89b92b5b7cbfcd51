#pragma once
// Training of the false-positive-reduction network (`nodulecad train-fpr`). Plain C++ interface; torch stays in
// train_fpr.cpp.
#include <cstdint>
#include <string>
#include <vector>

#include "model/fpr_config.hpp"
#include "preprocess/fpr_patches.hpp"

namespace nodulecad {

struct FprTrainOptions {
    FprSetOptions set;            // cohort, candidates, tables, patch cut, patient split; set.out_dir is the run folder
    FprNetConfig net;
    int epochs = 10;              // total (a resumed run continues up to this)
    int batch = 64;
    double lr = 1e-3;
    std::string lr_schedule = "cosine";  // or "constant" (train/schedule.hpp)
    // Validation probabilities: mean over this many turns/mirrors of the axial plane (1-8); kept in the model card,
    // so detect --fpr scores candidates the way validation did.
    int symmetries = 8;
    std::string device = "auto";
    double positive_ratio = 1.0;  // class balance: positives drawn per epoch = max(P, ratio x negatives), each copy augmented
    std::int64_t max_samples_per_epoch = 0;  // 0 = all
    bool augment = true;
    bool resume = false;          // continue from RUN/last.pt
    int threads = 1;
};

struct FprEpochMetrics {
    int epoch = 0;
    double train_loss = 0, val_loss = 0, val_auc = 0, val_precision = 0, val_recall = 0, val_f1 = 0;
    double cpm_before = 0, cpm_after = 0;  // candidate-level FROC on the validation scans, before / after reduction
    double cpm_product = 0, cpm_mean = 0;  // after, with the other combination rules (detect --combine)
    double samples_per_second = 0, seconds = 0;
};

struct FprTrainResult {
    FprSetSummary set;
    std::vector<FprEpochMetrics> epochs;  // those run now (earlier ones of a resumed run are in metrics.csv)
};

FprTrainResult train_fpr(const FprTrainOptions& opts);

// The epoch a checkpoint of train-fpr was saved at (from its card).
int fpr_checkpoint_epoch(const std::string& model_path);

// Every row of a run's metrics.csv.
std::vector<FprEpochMetrics> read_fpr_metrics(const std::string& run_dir);

// The metrics.csv row of one epoch of a run (Error if missing).
FprEpochMetrics fpr_metrics_of(const std::string& run_dir, int epoch);

// The options a run was started with (RUN/config.json), set to resume it.
FprTrainOptions fpr_resume_options(const std::string& run_dir);

}  // namespace nodulecad
