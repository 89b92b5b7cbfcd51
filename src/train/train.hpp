#pragma once
// U-Net training on a preprocessing dataset folder, and the speed benchmark. Plain C++ interface (torch stays in
// train.cpp).
#include <cstdint>
#include <string>
#include <vector>

#include "model/unet_config.hpp"

namespace nodulecad {

struct TrainOptions {
    std::string data_dir;   // PREP: images.npy, masks.npy, index.csv, stats.json
    std::string run_dir;    // RUN: last.pt, best.pt, metrics.csv, config.json
    int epochs = 20;        // total epochs (a resumed run continues up to this)
    int batch = 2;
    double lr = 1e-5;
    std::string lr_schedule = "constant";  // or "cosine": from lr down to lr/100 over the epochs
    std::string device = "auto";
    bool amp = true;        // on CUDA: bf16 autocast (fp32 master weights), channels-last, cuDNN autotuning; ignored on a CPU
    UNetConfig unet;        // in_channels is taken from the dataset
    std::string loss = "dice";  // "dice" (negative soft Dice, smooth 1) or "dice_bce"
    bool augment = true;    // flips, 90-degree rotations, small shifts, scale, intensity jitter (seeded)
    double scale_augment = 0.1;  // largest relative scale change of the augmentation (0.1: 0.9-1.1; 0 = none)
    std::uint64_t seed = 0;
    int threads = 1;
    // Threads preparing batches (read, crop, augment) ahead of the model; 0 = 1 on a CPU (the cores do the
    // arithmetic), up to 8 on CUDA. The batches are the same for any number.
    int loader_threads = 0;
    bool resume = false;    // continue RUN from last.pt (model, optimizer, epoch)
    std::int64_t max_samples_per_epoch = 0;  // 0 = all training samples
    // Samples per epoch, cycling through reshuffled passes when larger than the training set (0 = one pass): with
    // crops, many more windows than slices per epoch, so the per-epoch validation costs less of the time.
    std::int64_t epoch_samples = 0;
    // Train on crop x crop windows instead of whole samples (0 = whole): on samples with nodule pixels the window
    // holds a random nodule pixel, elsewhere it is placed at random. Many more, cheaper steps on the rare
    // foreground; the network stays fully convolutional, so validation and predict run on whole slices.
    int crop = 0;
    // How an epoch draws its samples: "slices" (each sample equally often) or "nodules" (each nodule equally often,
    // by the nodule_weight column preprocess writes; negatives keep their share).
    std::string sampling = "nodules";
};

struct EpochMetrics {
    int epoch = 0;
    double train_loss = 0, train_dice = 0, val_dice = 0, images_per_second = 0, seconds = 0;
};

// Trains and returns the metrics of every epoch run now (resumed epochs are in metrics.csv).
std::vector<EpochMetrics> train_unet(const TrainOptions& opts);

struct BenchOptions {
    std::string mode = "train";  // "train" or "infer"
    int size = 512, batch = 1, iterations = 3, warmup = 1;
    std::string device = "auto";
    bool amp = false;  // bf16 autocast + channels-last (CUDA only)
    bool aten_upsample = false;  // upsample with torch::upsample_nearest2d even under autocast (for comparison)
    UNetConfig unet;
    int threads = 1;
};
struct BenchResult {
    double images_per_second = 0, seconds_per_image = 0;
    std::string device;
};
BenchResult bench_unet(const BenchOptions& opts);

// Whether this LibTorch sees a CUDA device.
bool cuda_available();

}  // namespace nodulecad
