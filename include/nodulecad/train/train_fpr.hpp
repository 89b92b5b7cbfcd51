#pragma once
// Training of the false-positive-reduction network (`nodulecad train-fpr`): the trainer (train/trainer.hpp) with
// the FPR network, class-balanced batches of augmented candidate patches, binary cross-entropy, and validation by
// ROC AUC and the candidates' FROC before and after. Plain C++ interface; torch stays in train_fpr.cpp.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "nodulecad/model/fpr_config.hpp"
#include "nodulecad/preprocess/fpr_patches.hpp"
#include "nodulecad/train/run_folder.hpp"
#include "nodulecad/train/trainer_options.hpp"

namespace nodulecad {

// The trainer's defaults for this network: 10 epochs of batch 64 at lr 1e-3 with a cosine decay.
TrainerOptions fpr_trainer_defaults();

struct FprTrainOptions {
    TrainerOptions run = fpr_trainer_defaults();  // RUN folder (which also holds the patch set), epochs, lr, seed, ...
    FprSetOptions set;            // cohort, candidates, tables, patch cut, patient split (out_dir and seed: from run)
    FprNetConfig net;
    // Validation probabilities: mean over this many of the cube's maps (1-16, cube_symmetry); kept in the model card,
    // so detect --fpr scores candidates the way validation did.
    int symmetries = 8;
    double positive_ratio = 1.0;  // class balance: positives drawn per epoch = max(P, ratio x negatives), each copy augmented
    std::int64_t max_samples_per_epoch = 0;  // 0 = all
    bool augment = true;
    // Each training cube's values (the window mapped to [0, 1]) also scaled by a gain in [1 - A, 1 + A] and moved by
    // an offset in [-A / 4, A / 4] (A = 0.2: +-20 % contrast, +-70 HU), drawn per sample: a reduction that has seen
    // a dozen ground-glass nodules learns their exact densities, and this asks it for their shape. 0 = none.
    double intensity_augment = 0;

    void check() const;  // OptionError for values no run can use
};

// The network's own options (`run` has its own to_json): config.json's "options", the pipeline's stage keys.
// from_json keeps the current value of a missing key.
void to_json(nlohmann::json& j, const FprTrainOptions& o);
void from_json(const nlohmann::json& j, FprTrainOptions& o);

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

// metrics.csv's columns of an FP-reduction run, and every row of one.
const MetricsFields<FprEpochMetrics>& fpr_metrics_fields();
std::vector<FprEpochMetrics> read_fpr_metrics(const std::string& run_dir);

// The metrics.csv row of one epoch of a run (Error if missing).
FprEpochMetrics fpr_metrics_of(const std::string& run_dir, int epoch);

// The options a run was started with (RUN/config.json), set to resume it.
FprTrainOptions fpr_resume_options(const std::string& run_dir);

}  // namespace nodulecad
