#pragma once
// The 3D detector's training (docs/model.md): the trainer (train/trainer.hpp) with the 3D U-Net of
// model/detector3d.hpp, batches of cubic patches from a 3D detector dataset (preprocess/detector3d_dataset.hpp) —
// nodule-centred ones, random ones over the lung box, and hard negatives: the strongest false peaks the network
// drew on training patches at the end of the previous epoch — the focal heatmap + size loss (or, for the segmentation
// head, each nodule's ball as the target and Dice + cross-entropy + size), and the loss on a fixed set of validation
// patches as the metric. Plain C++ interface: torch stays in train_detector3d.cpp.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "nodulecad/model/detector3d_config.hpp"
#include "nodulecad/preprocess/detector3d_dataset.hpp"
#include "nodulecad/train/trainer_options.hpp"

namespace nodulecad {

struct Detector3dTrainOptions {
    TrainerOptions run;             // RUN folder, epochs, batch, lr, schedule, seed, device, loader threads, resume
    std::string data_dir;           // the dataset folder (dataset.json + <uid>.npy)
    Detector3dConfig net;
    Detector3dHead head = Detector3dHead::Heatmap;  // what the first head learns: centre heatmap or nodule balls
    int patch = 48;                 // voxels per side (divisible by 2^(depth-1))
    std::int64_t epoch_samples = 512;
    double nodule_fraction = 0.5;   // patches holding a training nodule (placed off-centre at random)
    double hard_fraction = 0.25;    // patches centred on last epoch's false peaks (when there are any)
    int hard_mining_patches = 32;   // random training patches run after each epoch to find them
    bool nodule_mining = false;     // nodule patches favour the training nodules the network scored lowest last epoch
    bool augment = true;            // flips along each axis and an in-plane transpose, and when asked for:
    double scale_augment = 0;       // zoom drawn log-uniformly in [1/(1+s), 1+s] (nodules' sizes follow)
    double contrast_augment = 0;    // gain about air drawn in [1-g, 1+g]
    HeatmapLossOptions loss;
    void check() const;             // OptionError for values no run can use
};
void to_json(nlohmann::json& j, const Detector3dTrainOptions& o);
void from_json(const nlohmann::json& j, Detector3dTrainOptions& o);  // keeps the current value of a missing key

struct Detector3dEpoch {
    int epoch = 0;
    double train_loss = 0, val_loss = 0, hard_negatives = 0, samples_per_second = 0, seconds = 0;
};

// Trains (or resumes) and returns the epochs run now. best.pt: the lowest validation loss (the last epoch without
// validation patients).
std::vector<Detector3dEpoch> train_detector3d(const Detector3dTrainOptions& opts);

// The options a run was started with (RUN/config.json), set to resume it.
Detector3dTrainOptions detector3d_resume_options(const std::string& run_dir);

// `nodulecad train-3d`: a cohort's 3D dataset built into RUN/grid3d (`set.out_dir` is set to it; the folder is reused
// when it was built with the same cohort, annotations, grid, split and seed, and always when resuming), then
// train_detector3d on it. As several ranks (train.run.world) rank 0 builds the dataset while the others wait, then
// all train (docs/distributed.md).
struct Detector3dCohortResult {
    Detector3dDataset set;
    bool reused = false;                 // the dataset was there already
    std::vector<Detector3dEpoch> epochs; // those run now
};
Detector3dCohortResult train_detector3d_on_cohort(Detector3dDatasetOptions set, Detector3dTrainOptions train);

// The Gaussian width (voxels) of a nodule's target heatmap: a quarter of its diameter, at least one voxel.
double heatmap_sigma_voxels(double diameter_mm, double spacing_mm);

}  // namespace nodulecad
