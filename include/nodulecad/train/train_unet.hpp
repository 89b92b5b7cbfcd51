#pragma once
// U-Net training on a preprocessing dataset folder: the trainer (train/trainer.hpp) with the U-Net's network,
// batches (augmented slices or crops from the memory-mapped dataset), soft-Dice loss and validation Dice.
// Plain C++ interface: torch stays in train_unet.cpp.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "nodulecad/model/unet_config.hpp"
#include "nodulecad/train/run_folder.hpp"
#include "nodulecad/train/sampling.hpp"
#include "nodulecad/train/trainer_options.hpp"

namespace nodulecad {

struct TrainOptions {
    TrainerOptions run;     // RUN folder, epochs, batch, lr, schedule, seed, device, amp, loader threads, resume
    std::string data_dir;   // PREP: images.npy, masks.npy, index.csv, stats.json
    UNetConfig unet;        // in_channels is taken from the dataset
    UNetLoss loss = UNetLoss::Dice;
    bool augment = true;    // flips, 90-degree rotations, small shifts, scale, intensity jitter (seeded)
    double scale_augment = 0.1;  // largest relative scale change of the augmentation (0.1: 0.9-1.1; 0 = none)
    std::int64_t max_samples_per_epoch = 0;  // 0 = all training samples
    // Samples per epoch, cycling through reshuffled passes when larger than the training set (0 = one pass): with
    // crops, many more windows than slices per epoch, so the per-epoch validation costs less of the time.
    std::int64_t epoch_samples = 0;
    // Train on crop x crop windows instead of whole samples (0 = whole): on samples with nodule pixels the window
    // holds a random nodule pixel, elsewhere it is placed at random. Many more, cheaper steps on the rare
    // foreground; the network stays fully convolutional, so validation and predict run on whole slices.
    int crop = 0;
    Sampling sampling = Sampling::Nodules;
    // After each epoch, each training sample with nodule pixels is scored (the soft Dice of a crop centred on each of
    // its nodule cuts, the lowest), and the next epoch draws those samples by weigh_by_scores (train/sampling.hpp):
    // the nodules the network segments worst come up up to five times as often. Needs Sampling::Nodules.
    bool nodule_mining = false;

    // OptionError for values no run can use (those that depend on the dataset are checked when it is opened).
    void check() const;
};

// The network's own options (`run` has its own to_json): config.json's "options", the pipeline's stage keys.
// from_json keeps the current value of a missing key.
void to_json(nlohmann::json& j, const TrainOptions& o);
void from_json(const nlohmann::json& j, TrainOptions& o);

// One row of RUN/metrics.csv.
struct EpochMetrics {
    int epoch = 0;
    double train_loss = 0, train_dice = 0, val_dice = 0, samples_per_second = 0, seconds = 0;
};

// Trains and returns the metrics of every epoch run now (resumed epochs are in metrics.csv). val_dice is NaN when
// the dataset has no validation patients (best.pt is then the last epoch).
std::vector<EpochMetrics> train_unet(const TrainOptions& opts);

// metrics.csv's columns of a U-Net run, and every row of one.
const MetricsFields<EpochMetrics>& unet_metrics_fields();
std::vector<EpochMetrics> read_unet_metrics(const std::string& run_dir);

// The options a run was started with (RUN/config.json), set to resume it.
TrainOptions unet_resume_options(const std::string& run_dir);

}  // namespace nodulecad
