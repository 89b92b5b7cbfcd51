#pragma once
// The one training loop of every network (nnU-Net's trainer in spirit). It owns what all runs share: the run folder
// (config.json, metrics.csv and its truncation on resume, last.pt / best.pt), the device and its run mode, Adam on
// fp32 master weights, the per-epoch learning rate, seeding that makes a resumed run continue exactly, the epoch
// loop with its progress bar, and resume. A network brings a TrainingVariant with the four things that differ:
//   1. the network (new, or loaded from a checkpoint, and saved with its card),
//   2. the batch source (each epoch's batches, a function of (seed, epoch) alone),
//   3. the loss,
//   4. the validation metric (the values for metrics.csv and the score that picks best.pt).
// Adding a network means writing a variant; train_unet.cpp and train_fpr.cpp are the two there are.
// Include only from torch translation units.
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "nodulecad/train/run_folder.hpp"
#include "nodulecad/train/trainer_options.hpp"

namespace nodulecad {

// One batch as the batch source makes it on a loader thread: inputs and targets as floats with their shapes.
struct Batch {
    std::vector<float> x, y;
    std::vector<std::int64_t> x_shape, y_shape;
    std::int64_t size() const { return x_shape.empty() ? 0 : x_shape.front(); }
};

// The samples of one pass (an epoch, or a validation pass): make(first, count) is samples [first, first + count) of
// the pass, made from their positions alone, so any number of loader threads — and any number of ranks, each
// taking its part of every step — gives the same samples.
struct EpochBatches {
    std::int64_t samples = 0;
    std::function<Batch(std::int64_t first, std::int64_t count)> make;

    std::size_t batch_count(std::int64_t batch) const { return static_cast<std::size_t>((samples + batch - 1) / batch); }
    // Batch k of `batch` samples (the last one smaller).
    Batch batch(std::size_t k, std::int64_t batch) const {
        const std::int64_t first = static_cast<std::int64_t>(k) * batch;
        return make(first, std::min(batch, samples - first));
    }
};

// This rank's part of a training step (docs/distributed.md): `local` of the step's `total` samples, and `sum`, which
// returns a tensor summed over the ranks (itself in one process). Every rank calls the same collectives in the same
// order, a rank without samples in the step (the epoch's last step) included.
struct StepShare {
    std::int64_t local = 0, total = 0;
    std::function<torch::Tensor(const torch::Tensor&)> sum;
    double fraction() const { return total > 0 ? static_cast<double>(local) / static_cast<double>(total) : 0.0; }
};

// Where a run stands, as its checkpoints remember it.
struct RunProgress {
    int epoch = 0;                // last finished epoch
    double best_score = -1;       // validation score of best.pt
};

// The loss of a batch, and the running values the progress bar and metrics.csv show beside it (averaged over the
// epoch's samples), in the order of TrainingVariant::train_columns.
struct LossTerms {
    torch::Tensor loss;
    std::vector<torch::Tensor> shown;
    // Where the loss backpropagated is not the loss's value (a rank's share of a loss over the whole step's batch,
    // TrainingVariant::step_loss): the value for metrics.csv and the bar. Undefined: `loss` is the value.
    torch::Tensor value;
};

// The validation of one epoch: values for metrics.csv (in the order of validation_columns) and the score that picks
// best.pt. A new best when the score is higher, or when the score cannot be trusted (`choosable` false: too few
// validation samples of a class) or is missing (NaN) — then the latest epoch is kept, as it is every epoch when
// TrainerOptions::keep is Final.
struct Validation {
    std::vector<double> values;
    double score = std::numeric_limits<double>::quiet_NaN();
    bool choosable = true;
};

// The network's output for a batch on the device, in the run mode (autocast, layout), as float.
using Forward = std::function<torch::Tensor(const torch::Tensor& x)>;

class TrainingVariant {
public:
    virtual ~TrainingVariant() = default;

    // 1. The network. build(): a new one on `device` (torch's generator already seeded with the run's seed). load():
    // the one in a checkpoint, with the progress its card holds. save(): weights + card (+ optimizer state).
    virtual torch::nn::Module& build(const torch::Device& device) = 0;
    virtual torch::nn::Module& load(const std::string& checkpoint, const torch::Device& device, RunProgress& progress) = 0;
    virtual torch::Tensor forward(const torch::Tensor& x) = 0;
    virtual void save(const std::string& path, const RunProgress& progress, torch::optim::Optimizer* optimizer) = 0;
    // The variant's part of config.json: its card, data and options.
    virtual nlohmann::ordered_json describe() const = 0;

    // 2. The batches of one epoch.
    virtual EpochBatches epoch_batches(int epoch) = 0;

    // 3. The loss of a batch: `output` is the network's float output, `target` the batch's targets on the device.
    virtual LossTerms loss(const torch::Tensor& output, const torch::Tensor& target) = 0;
    virtual std::vector<std::string> train_columns() const { return {}; }
    // 3b. With several ranks: this rank's share of the step's loss, such that the gradients of the shares summed over
    // the ranks are the gradient of the loss of the whole step's batch (what one process with that batch computes),
    // and the values and shown terms summed over the ranks are that loss's. The default suits a loss that is a mean
    // over samples: loss() scaled by share.fraction(). A loss over the whole batch (the U-Net's soft Dice) sums its
    // statistics with share.sum. A rank without samples in the step is called with empty tensors and must return
    // zero terms after taking part in the same collectives.
    virtual LossTerms step_loss(const torch::Tensor& output, const torch::Tensor& target, const StepShare& share);

    // 4. Validation after each epoch (or those TrainerOptions::validate_every and validate_from pick, and the last), in
    // eval mode without gradients.
    virtual Validation validate(int epoch, const Forward& forward) = 0;
    // What the next epoch needs from this one's network whether or not it is validated (the 3D detector mines its
    // hard negatives here), in eval mode without gradients, before validate.
    virtual void after_epoch(int /*epoch*/, const Forward& /*forward*/) {}
    virtual std::vector<std::string> validation_columns() const = 0;

    // False on ranks other than 0 of a run over several processes: they write nothing into the run folder (the
    // trainer saves nothing there; a variant that writes files of its own, the 3D detector's hard negatives, checks it).
    bool writes_files = true;
};

// What each finished epoch reports: its metrics.csv row, named.
struct EpochRecord {
    std::vector<std::pair<std::string, double>> values;  // epoch, train_loss, train columns, validation columns, ...
    double get(const std::string& name) const;            // NaN when absent
};

class RankGroup;  // train/rank_group.hpp

// The ranks of o.world joined (a RankGroup), or null in one process.
std::unique_ptr<RankGroup> join_ranks(const TrainerOptions& o);

// Trains until o.epochs and returns the epochs run now (a resumed run's earlier ones are in metrics.csv). With
// several ranks in o.world it joins them itself, unless the caller joined them first (`ranks`: a variant whose rank
// 0 prepares something the others wait for, train-fpr's patch set).
std::vector<EpochRecord> run_training(TrainingVariant& variant, const TrainerOptions& o, RankGroup* ranks = nullptr);

// A prepared batch on the device. To CUDA through pinned memory without waiting: a copy from pageable memory blocks
// the CPU until it is done, and the GPU would idle while the next step's kernels are queued.
torch::Tensor to_device(std::vector<float>& data, const std::vector<std::int64_t>& shape, const torch::Device& device);

// A model card as config.json shows it: without the progress fields (`epoch` and the best score, `best_key`), which
// belong to metrics.csv and the checkpoints, not to what the run was started with.
nlohmann::ordered_json card_without_progress(const std::string& card_json, const char* best_key);

// The loader threads a run uses (TrainerOptions::loader_threads, 0 = automatic).
int loader_threads_for(int requested, const torch::Device& device);

}  // namespace nodulecad
