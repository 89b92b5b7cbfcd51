#include "nodulecad/train/train_fpr.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/core/folder_lock.hpp"
#include "nodulecad/core/random.hpp"
#include "nodulecad/evaluate/classification.hpp"
#include "nodulecad/evaluate/froc.hpp"
#include "nodulecad/io/cohort_layout.hpp"
#include "nodulecad/io/npy_map.hpp"
#include "nodulecad/model/checkpoint.hpp"
#include "nodulecad/model/fpr_net.hpp"
#include "nodulecad/train/rank_group.hpp"
#include "nodulecad/train/trainer.hpp"

namespace nodulecad {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// With fewer validation candidates of a class than this, an AUC picks noise (often an early, barely trained epoch),
// so the latest epoch is kept as best instead.
constexpr std::int64_t kMinPerClass = 20;

const std::vector<std::string> kValidationColumns = {"val_loss",  "val_auc",   "val_precision", "val_recall", "val_f1",
                                                     "cpm_before", "cpm_after", "cpm_product",   "cpm_mean"};

// The epoch's sample list: every training negative once, positives cycled (reshuffled each cycle) up to the
// balanced count, all shuffled; derived from (seed, epoch) only.
std::vector<std::int64_t> epoch_order(const std::vector<std::int64_t>& pos, const std::vector<std::int64_t>& neg, double ratio,
                                      std::int64_t cap, std::uint64_t seed, int epoch) {
    Rng rng = Rng::derive(seed, {static_cast<std::uint64_t>(epoch), 0xF9ULL});
    std::vector<std::int64_t> order = neg;
    const auto want = std::max<std::int64_t>(static_cast<std::int64_t>(pos.size()), std::llround(ratio * static_cast<double>(neg.size())));
    std::vector<std::int64_t> cycle;
    for (std::int64_t n = 0; n < want; ++n) {
        if (cycle.empty()) {
            cycle = pos;
            shuffle(cycle, rng);
        }
        order.push_back(cycle.back());
        cycle.pop_back();
    }
    shuffle(order, rng);
    if (cap > 0 && static_cast<std::int64_t>(order.size()) > cap) order.resize(static_cast<std::size_t>(cap));
    return order;
}

// The patch set of a run: its rows, the cubes (memory-mapped) and the split into training positives, negatives and
// validation candidates.
struct PatchSet {
    FprSetSummary summary;
    PatchOptions patch;
    std::vector<FprRow> rows;
    std::unique_ptr<NpyMap> cubes;
    std::vector<std::int64_t> pos, neg, val;

    std::size_t cube_bytes() const { return static_cast<std::size_t>(patch.cube()) * static_cast<std::size_t>(patch.cube()) * static_cast<std::size_t>(patch.cube()); }
    const std::uint8_t* cube(std::int64_t r) const { return cubes->data() + static_cast<std::size_t>(r) * cube_bytes(); }
};

PatchSet open_patch_set(const FprSetOptions& set_opts) {
    PatchSet s;
    s.summary = build_fpr_set(set_opts);
    s.patch = set_opts.patch;
    const std::string dir = set_opts.out_dir;
    s.rows = read_fpr_rows((fs::path(dir) / "patches.csv").string());
    s.cubes = std::make_unique<NpyMap>((fs::path(dir) / "patches.npy").string());
    const std::int64_t D = s.patch.cube();
    const auto& shape = s.cubes->header().shape;
    if (s.cubes->header().dtype != ElementType::UInt8 || shape.size() != 4 || shape[0] != static_cast<std::int64_t>(s.rows.size()) || shape[1] != D ||
        shape[2] != D || shape[3] != D)
        fail((fs::path(dir) / "patches.npy").string(), "does not match patches.csv and the patch options (delete it to rebuild)");
    for (std::size_t r = 0; r < s.rows.size(); ++r) {
        if (s.rows[r].val) {
            if (s.rows[r].from_candidates()) s.val.push_back(static_cast<std::int64_t>(r));
        } else {
            (s.rows[r].label ? s.pos : s.neg).push_back(static_cast<std::int64_t>(r));
        }
    }
    if (s.pos.empty() || s.neg.empty())
        throw Error("train-fpr needs positive and negative training candidates (have " + std::to_string(s.pos.size()) + " positive, " +
                    std::to_string(s.neg.size()) + " negative)");
    return s;
}

// What validation scores the network on: the validation candidates side by side (gathered once: they are scattered
// among the training rows of the file), their labels, and the FROC inputs to score them before and after.
struct ValidationSet {
    std::vector<std::uint8_t> cubes;
    std::vector<int> labels;
    std::int64_t positives = 0, negatives = 0;
    std::vector<Annotation> nodules, excluded;
    std::vector<Candidate> before;  // the candidates with their first-stage probabilities
    double cpm_before = std::numeric_limits<double>::quiet_NaN();
};

ValidationSet validation_set(const PatchSet& s, const FprSetOptions& o) {
    ValidationSet v;
    const std::string ann = o.annotations.empty() ? default_annotations(o.data_dir) : o.annotations;
    const std::string exc = o.excluded.empty() ? default_excluded(o.data_dir) : o.excluded;
    v.nodules = read_annotations(ann);
    if (!exc.empty()) v.excluded = read_annotations(exc);
    v.cubes.resize(s.val.size() * s.cube_bytes());
    for (std::size_t i = 0; i < s.val.size(); ++i) {
        const FprRow& row = s.rows[static_cast<std::size_t>(s.val[i])];
        v.before.push_back({row.seriesuid, row.world, row.probability});
        v.labels.push_back(row.label);
        (row.label ? v.positives : v.negatives) += 1;
        std::copy_n(s.cube(s.val[i]), s.cube_bytes(), v.cubes.data() + i * s.cube_bytes());
    }
    if (!s.summary.val_uids.empty()) v.cpm_before = evaluate_froc(v.nodules, v.excluded, s.summary.val_uids, v.before).cpm;
    return v;
}

class FprVariant final : public TrainingVariant {
public:
    explicit FprVariant(const FprTrainOptions& o) : o_(o), set_opts_(o.set) {
        set_opts_.out_dir = o.run.run_dir;
        set_opts_.seed = o.run.seed;
        const std::string last = RunFolder{o.run.run_dir}.last();
        if (o.run.resume) set_opts_.patch = FprCard::from_json(read_card_text(last), last).patch;  // the cut it was trained on
        set_ = open_patch_set(set_opts_);
        val_ = validation_set(set_, set_opts_);
    }
    const FprSetSummary& summary() const { return set_.summary; }

    torch::nn::Module& build(const torch::Device& device) override {
        card_.net = o_.net;
        card_.patch = set_.patch;
        model_ = FprNet(card_.net);
        model_->to(device);
        device_ = device;
        note_training_set();
        return *model_;
    }
    torch::nn::Module& load(const std::string& checkpoint, const torch::Device& device, RunProgress& progress) override {
        model_ = load_fpr_checkpoint(checkpoint, card_, device);
        if (card_.patch != set_.patch) fail(checkpoint, "model was trained on another patch cut");
        device_ = device;
        progress = {card_.epoch, card_.best_val_auc};
        note_training_set();
        return *model_;
    }
    torch::Tensor forward(const torch::Tensor& x) override { return model_->forward(x); }
    void save(const std::string& path, const RunProgress& progress, torch::optim::Optimizer* optimizer) override {
        card_.epoch = progress.epoch;
        card_.best_val_auc = progress.best_score;
        save_fpr_checkpoint(path, model_, card_, optimizer);
    }
    nlohmann::ordered_json describe() const override {
        return {{"network", "fpr"}, {"card", card_without_progress(card_.to_json(), "best_val_auc")}, {"options", json(o_)}, {"val_uids", set_.summary.val_uids}};
    }

    EpochBatches epoch_batches(int epoch) override {
        std::vector<std::int64_t> order = epoch_order(set_.pos, set_.neg, o_.positive_ratio, o_.max_samples_per_epoch, o_.run.seed, epoch);
        EpochBatches e;
        e.samples = static_cast<std::int64_t>(order.size());
        e.make = [this, order = std::move(order), epoch](std::int64_t first_sample, std::int64_t count) {
            const auto first = static_cast<std::size_t>(first_sample), n = static_cast<std::size_t>(count);
            const PatchOptions& patch = set_.patch;
            const std::size_t input_floats = fpr_input_floats(card_.net, patch);
            Batch b;
            b.x_shape = fpr_batch_shape(card_.net, patch, static_cast<std::int64_t>(n));
            b.y_shape = {static_cast<std::int64_t>(n)};
            b.x.resize(n * input_floats);
            b.y.resize(n);
            for (std::size_t i = 0; i < n; ++i) {
                const std::int64_t r = order[first + i];
                Rng rng = Rng::derive(o_.run.seed, {static_cast<std::uint64_t>(epoch), first + i, 0xA7ULL});
                const Augment aug = o_.augment ? draw_augment(rng, patch.max_shift) : Augment{};
                float* x = b.x.data() + i * input_floats;
                fpr_input(card_.net, set_.cube(r), patch, aug, x);
                // Drawn after the cut's augmentation, so runs without it draw exactly as before.
                if (o_.augment) augment_intensity(x, input_floats, o_.intensity_augment, rng);
                b.y[i] = static_cast<float>(set_.rows[static_cast<std::size_t>(r)].label);
            }
            return b;
        };
        return e;
    }

    LossTerms loss(const torch::Tensor& logits, const torch::Tensor& y) override {
        return {torch::binary_cross_entropy_with_logits(logits, y), {}, {}};
    }

    // ROC AUC and the validation scans' FROC with this network's probabilities, replacing or combined with the
    // first stage's (the same scoring detect --fpr uses, turns and mirrors included).
    Validation validate(int, const Forward&) override {
        const double nan = std::numeric_limits<double>::quiet_NaN();
        Validation v;
        v.values.assign(kValidationColumns.size(), nan);
        v.values[5] = val_.cpm_before;
        v.choosable = val_.positives >= kMinPerClass && val_.negatives >= kMinPerClass;
        const std::size_t n = val_.labels.size();
        if (n == 0) return v;
        const std::vector<double> p = fpr_probabilities(model_, val_.cubes.data(), static_cast<std::int64_t>(n), set_.patch, device_, 64, o_.symmetries, std::max(1, set_opts_.threads));
        double bce = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const double q = std::clamp(p[i], 1e-7, 1 - 1e-7);
            bce -= val_.labels[i] ? std::log(q) : std::log(1 - q);
        }
        const BinaryScores s = binary_scores(p, val_.labels);
        const auto cpm_with = [&](FprCombine rule) {
            std::vector<Candidate> after = val_.before;
            for (std::size_t i = 0; i < n; ++i) after[i].probability = combine_probability(val_.before[i].probability, p[i], rule);
            return evaluate_froc(val_.nodules, val_.excluded, set_.summary.val_uids, after).cpm;
        };
        v.values = {bce / static_cast<double>(n), s.auc, s.precision, s.recall, s.f1, val_.cpm_before,
                    cpm_with(FprCombine::Replace), cpm_with(FprCombine::Product), cpm_with(FprCombine::Mean)};
        v.score = s.auc;
        return v;
    }
    std::vector<std::string> validation_columns() const override { return kValidationColumns; }

private:
    FprTrainOptions o_;
    FprSetOptions set_opts_;
    PatchSet set_;
    ValidationSet val_;
    FprCard card_;
    FprNet model_{nullptr};
    torch::Device device_ = torch::kCPU;

    void note_training_set() {
        card_.symmetries = o_.symmetries;
        card_.train_positives = static_cast<std::int64_t>(set_.pos.size());
        card_.train_negatives = static_cast<std::int64_t>(set_.neg.size());
    }
};

}  // namespace

FprTrainResult train_fpr(const FprTrainOptions& o) {
    o.check();
    // Several ranks: rank 0 cuts the patch set into the run folder while the others wait (as long as it takes; a
    // rank 0 that fails ends them at once), then they open the finished set, writing nothing.
    const std::unique_ptr<RankGroup> ranks = join_ranks(o.run);
    std::optional<FolderLock> lock;  // rank 0's, from the patch set on (the trainer's own nests in it)
    if (!ranks || ranks->rank() == 0) lock.emplace(o.run.run_dir, "train-fpr");
    std::unique_ptr<FprVariant> variant;
    if (!ranks || ranks->rank() == 0) variant = std::make_unique<FprVariant>(o);
    if (ranks) ranks->barrier(std::chrono::hours(24));
    if (!variant) variant = std::make_unique<FprVariant>(o);
    FprTrainResult result;
    for (const EpochRecord& r : run_training(*variant, o.run, ranks.get()))
        result.epochs.push_back(metrics_from<FprEpochMetrics>([&](const char* c) { return r.get(c); }, fpr_metrics_fields()));
    result.set = variant->summary();
    return result;
}

int fpr_checkpoint_epoch(const std::string& model_path) { return FprCard::from_json(read_card_text(model_path), model_path).epoch; }

}  // namespace nodulecad
