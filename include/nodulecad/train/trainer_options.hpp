#pragma once
// What every training run is given, whatever the network (train/trainer.hpp runs it). Plain C++.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "nodulecad/core/enum_names.hpp"
#include "nodulecad/core/launch.hpp"
#include "nodulecad/train/schedule.hpp"

namespace nodulecad {

// Which epoch's weights RUN/best.pt — the network later stages use — holds.
enum class KeepWeights {
    BestValidation,  // the epoch with the highest validation score (the variant's; see Validation in trainer.hpp)
    Final,           // the last epoch: for validation scores too noisy to choose by (the 3D detector's, docs/model.md)
};
inline constexpr EnumName<KeepWeights> kKeepWeightsNames[] = {{KeepWeights::BestValidation, "best-validation"}, {KeepWeights::Final, "final"}};

struct TrainerOptions {
    std::string run_dir;       // RUN (train/run_folder.hpp)
    int epochs = 20;           // total; a resumed run continues up to this
    int batch = 2;
    double lr = 1e-5;          // Adam on fp32 master weights
    LrSchedule lr_schedule = LrSchedule::Constant;
    KeepWeights keep = KeepWeights::BestValidation;
    // Validate after every Nth epoch and after the last; the others leave the validation columns of metrics.csv
    // empty and cannot become best.pt. For runs whose validation costs a large share of each epoch (the demo's
    // U-Net: 6 of 15 s on whole slices).
    int validate_every = 1;
    // ...and only from this epoch on (the last always validates): with a learning rate decaying over the run, the
    // first half's weights never scored best in the demo's runs (its U-Net's best validated epochs were 21-27 of 30),
    // so validating them only costs time.
    int validate_from = 1;
    std::uint64_t seed = 0;    // initial weights, each epoch's samples and augmentation, dropout
    std::string device = "auto";
    bool amp = true;           // on CUDA: bf16 autocast, channels-last, cuDNN autotuning; no effect on a CPU
    // Threads making batches ahead of the network; 0 = 1 on a CPU (its cores do the arithmetic), up to 8 on CUDA.
    // The batches are the same for any number.
    int loader_threads = 0;
    bool resume = false;       // continue RUN from last.pt: weights, optimizer state, epoch
    // The ranks training together (docs/distributed.md): each takes `batch` samples of every step, so a step sees
    // batch x world.size; rank 0 alone writes the run folder. One process when world.size is 1.
    WorldSpec world;
    int dist_timeout_s = 60;   // a collective waits this long for a rank that died or stalled, then fails

    // OptionError for a value no run can use.
    void check() const;
};

// The options that decide what is trained (not the run folder, device, loader threads or resume): config.json and
// the pipeline's stage keys. from_json keeps the current value of a missing key.
void to_json(nlohmann::json& j, const TrainerOptions& o);
void from_json(const nlohmann::json& j, TrainerOptions& o);

}  // namespace nodulecad
