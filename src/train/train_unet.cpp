#include "nodulecad/train/train_unet.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/core/prefetch.hpp"
#include "nodulecad/core/random.hpp"
#include "nodulecad/io/csv.hpp"
#include "nodulecad/io/npy_map.hpp"
#include "nodulecad/io/text_numbers.hpp"
#include "nodulecad/model/losses.hpp"
#include "nodulecad/model/unet.hpp"
#include "nodulecad/preprocess/components.hpp"
#include "nodulecad/train/slice_sample.hpp"
#include "nodulecad/train/trainer.hpp"

namespace nodulecad {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// The dataset folder, memory-mapped: samples, the patient split, the sampling weights and the normalisation.
struct Dataset {
    std::unique_ptr<NpyMap> images, masks;
    std::vector<std::int64_t> val;
    SamplePool pool;  // training rows; nodule weights empty when the dataset predates the column
    int channels = 1, size = 0;
    double mean = 0, std = 1;
    json stats;

    SliceSource source() const { return {images.get(), masks.get(), channels, size, mean, std}; }
};

void read_split_and_weights(const std::string& dir, Dataset& d) {
    const std::string index_path = (fs::path(dir) / "index.csv").string();
    const CsvTable index = read_csv(index_path, true);
    if (static_cast<std::int64_t>(index.rows.size()) != d.images->header().shape[0]) fail(dir, "index.csv and images.npy disagree on the number of samples");
    const std::size_t split = index.column("split");
    for (std::size_t r = 0; r < index.rows.size(); ++r)
        (index.rows[r].fields[split] == "val" ? d.val : d.pool.rows).push_back(static_cast<std::int64_t>(r));
    if (d.pool.rows.empty()) fail(dir, "no training samples in index.csv");
    if (std::find(index.header.begin(), index.header.end(), "nodule_weight") == index.header.end()) return;
    const std::size_t wcol = index.column("nodule_weight"), pcol = index.column("positive");
    for (const auto& row : index.rows) {
        const auto w = parse_double(row.fields[wcol]);
        if (!w || !(*w >= 0)) fail(index_path, "nodule_weight must be a number >= 0", row.line);
        d.pool.nodule_weight.push_back(*w);
        d.pool.positive.push_back(row.fields[pcol] == "1");
    }
}

Dataset open_dataset(const std::string& dir) {
    Dataset d;
    const std::string stats_path = (fs::path(dir) / "stats.json").string();
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) fail(dir, "dataset folder not found (make it with nodulecad preprocess)");
    try {
        d.stats = json::parse(read_file(stats_path));
        d.mean = d.stats.at("train_mean").get<double>();
        d.std = d.stats.at("train_std").get<double>();
    } catch (const json::exception& e) {
        fail(stats_path, std::string("not a preprocessing stats file: ") + e.what());
    }
    if (!(d.std > 0)) d.std = 1;
    d.images = std::make_unique<NpyMap>((fs::path(dir) / "images.npy").string());
    d.masks = std::make_unique<NpyMap>((fs::path(dir) / "masks.npy").string());
    const auto& is = d.images->header().shape;
    const auto& ms = d.masks->header().shape;
    if (is.size() != 4 || ms.size() != 4 || ms[0] != is[0] || ms[1] != 1 || ms[2] != is[2] || ms[3] != is[3] || is[2] != is[3])
        fail(dir, "images.npy must be (N,C,S,S) and masks.npy (N,1,S,S) with the same N and S");
    d.channels = static_cast<int>(is[1]);
    d.size = static_cast<int>(is[2]);
    read_split_and_weights(dir, d);
    return d;
}

// How the samples of a pass are made: augmentation, crop, and the (seed, epoch) their random streams derive from.
struct SamplePlan {
    bool augment = false;
    double max_scale_change = 0;
    int crop = 0;
    std::uint64_t seed = 0;
    int epoch = 0;
};

Batch make_batch(const Dataset& d, const std::vector<std::int64_t>& rows, std::size_t first, std::size_t count, const SamplePlan& plan) {
    Batch b;
    const std::size_t side = static_cast<std::size_t>(plan.crop > 0 ? plan.crop : d.size), plane = side * side;
    const auto n = static_cast<std::int64_t>(count), w = static_cast<std::int64_t>(side);
    b.x_shape = {n, d.channels, w, w};
    b.y_shape = {n, 1, w, w};
    b.x.resize(count * static_cast<std::size_t>(d.channels) * plane);
    b.y.resize(count * plane);
    const SliceSource src = d.source();
    for (std::size_t i = 0; i < count; ++i)
        fill_sample(src, rows[first + i], plan.augment, plan.crop,
                    Rng::derive(plan.seed, {static_cast<std::uint64_t>(plan.epoch), first + i, 0xA06ULL}),
                    b.x.data() + i * static_cast<std::size_t>(d.channels) * plane, b.y.data() + i * plane, plan.max_scale_change);
    return b;
}

// The samples of `rows` in order.
EpochBatches batches_of(const Dataset& d, std::vector<std::int64_t> rows, const SamplePlan& plan) {
    EpochBatches e;
    e.samples = static_cast<std::int64_t>(rows.size());
    e.make = [&d, rows = std::move(rows), plan](std::int64_t first, std::int64_t count) {
        return make_batch(d, rows, static_cast<std::size_t>(first), static_cast<std::size_t>(count), plan);
    };
    return e;
}

class UNetVariant final : public TrainingVariant {
public:
    explicit UNetVariant(const TrainOptions& o) : o_(o), d_(open_dataset(o.data_dir)) {
        if (o.sampling == Sampling::Nodules && d_.pool.nodule_weight.empty())
            fail((fs::path(o.data_dir) / "index.csv").string(), "no nodule_weight column for sampling nodules (made by an older preprocess: run it again)");
        if (o.crop > d_.size) throw OptionError("crop", "must be between 0 and the sample size " + std::to_string(d_.size) + ", got " + std::to_string(o.crop));
        loaders_ = loader_threads_for(o.run.loader_threads, pick_device(o.run.device));
    }

    torch::nn::Module& build(const torch::Device& device) override {
        card_.unet = o_.unet;
        card_.unet.in_channels = d_.channels;
        card_.size = d_.size;
        const auto& opt = d_.stats.at("options");
        card_.pixel_mm = opt.at("pixel_mm").get<double>();
        card_.window_lo = opt.at("window").at(0).get<double>();
        card_.window_hi = opt.at("window").at(1).get<double>();
        card_.context = opt.at("context").get<int>();
        card_.mask_lungs = opt.at("mask_lungs").get<bool>();
        card_.mean = d_.mean;
        card_.std = d_.std;
        card_.loss = o_.loss;
        model_ = UNet(card_.unet);
        model_->to(device);
        check_shapes(o_.run.run_dir);
        return *model_;
    }
    torch::nn::Module& load(const std::string& checkpoint, const torch::Device& device, RunProgress& progress) override {
        model_ = load_checkpoint(checkpoint, card_, device);
        if (card_.unet.in_channels != d_.channels)
            fail(checkpoint, "model has " + std::to_string(card_.unet.in_channels) + " input channels but the dataset has " + std::to_string(d_.channels));
        if (card_.size != d_.size)
            fail(checkpoint, "model was trained on " + std::to_string(card_.size) + " px samples, the dataset has " + std::to_string(d_.size));
        progress = {card_.epoch, card_.best_val_dice};
        check_shapes(checkpoint);
        return *model_;
    }
    torch::Tensor forward(const torch::Tensor& x) override { return model_->forward(x); }
    void save(const std::string& path, const RunProgress& progress, torch::optim::Optimizer* optimizer) override {
        card_.epoch = progress.epoch;
        card_.best_val_dice = progress.best_score;
        save_checkpoint(path, model_, card_, optimizer);
    }
    nlohmann::ordered_json describe() const override {
        return {{"network", "unet"}, {"card", card_without_progress(card_.to_json(), "best_val_dice")}, {"data", o_.data_dir}, {"options", json(o_)}};
    }

    EpochBatches epoch_batches(int epoch) override {
        Rng rng = Rng::derive(o_.run.seed, {static_cast<std::uint64_t>(epoch), 0x5F1ULL});
        const std::size_t wanted = o_.epoch_samples > 0 ? static_cast<std::size_t>(o_.epoch_samples) : d_.pool.rows.size();
        const std::vector<double> scores = read_scores(epoch - 1);
        const SamplePool mined = scores.empty() ? SamplePool{} : weigh_by_scores(d_.pool, scores);
        std::vector<std::int64_t> order = sample_epoch(scores.empty() ? d_.pool : mined, wanted, o_.sampling, rng);
        if (o_.max_samples_per_epoch > 0 && static_cast<std::int64_t>(order.size()) > o_.max_samples_per_epoch)
            order.resize(static_cast<std::size_t>(o_.max_samples_per_epoch));
        return batches_of(d_, std::move(order), SamplePlan{o_.augment, o_.scale_augment, o_.crop, o_.run.seed, epoch});
    }

    LossTerms loss(const torch::Tensor& p, const torch::Tensor& y) override {
        torch::Tensor dice;
        torch::Tensor l = unet_loss(o_.loss, p, y, &dice);
        return {l, {dice}, {}};
    }
    std::vector<std::string> train_columns() const override { return {"train_dice"}; }

    // Soft Dice is over the whole batch, not a mean over samples: its three sums are summed over the ranks, and
    // each rank backpropagates the linear term whose gradient on its own pixels is the whole batch's Dice gradient
    // there (the sums held constant): d(-D)/dp = -(2y / S - (2I + 1) / S^2), S = P + Y + 1. The per-sample losses'
    // Dice or Tversky terms are each a sample's own, so a rank backpropagates its samples' sum over the step's count
    // of them (summed over the ranks with the batch's sums, one reduction).
    LossTerms step_loss(const torch::Tensor& p, const torch::Tensor& y, const StepShare& share) override {
        const auto opts = torch::TensorOptions().dtype(torch::kFloat).device(card_device());
        const bool per_sample = per_sample_loss(o_.loss);
        torch::Tensor sample_sum = torch::zeros({}, opts), sample_count = torch::zeros({}, opts);
        if (per_sample && share.local > 0) sample_sum = sample_overlap_sum(o_.loss, p, y, sample_count);
        const torch::Tensor local = share.local > 0
                                        ? torch::stack({(p * y).sum(), p.sum(), y.sum(), sample_sum, sample_count}).detach()
                                        : torch::zeros({5}, opts);
        const torch::Tensor all = share.sum(local);
        const torch::Tensor inter = all[0], s = all[1] + all[2] + 1;
        const torch::Tensor dice = (2 * inter + 1) / s;
        const torch::Tensor samples = all[4].clamp_min(1);
        const double f = share.fraction();
        if (share.local == 0) return {torch::zeros({}, opts), {torch::zeros({}, opts)}, torch::zeros({}, opts)};
        torch::Tensor l = per_sample ? -sample_sum / samples : -(2 * (p * y).sum() / s - (2 * inter + 1) * p.sum() / (s * s));
        torch::Tensor value = per_sample ? -all[3] / samples * f : -dice * f;
        if (o_.loss != UNetLoss::Dice) {
            const torch::Tensor bce = torch::binary_cross_entropy(p.clamp(1e-6, 1 - 1e-6), y) * f;
            l = l + bce;
            value = value + bce.detach();
        }
        return {l, {dice * f}, value};
    }

    // With nodule mining, the training samples' scores for the next epoch's draw.
    void after_epoch(int epoch, const Forward& forward) override {
        if (o_.nodule_mining) score_samples(epoch, forward);
    }

    // Soft Dice over the whole validation split, on whole slices.
    Validation validate(int epoch, const Forward& forward) override {
        Validation v;
        if (d_.val.empty()) {
            v.values = {std::numeric_limits<double>::quiet_NaN()};
            return v;
        }
        const auto sum_options = torch::TensorOptions().dtype(torch::kDouble).device(card_device());
        torch::Tensor inter = torch::zeros({}, sum_options), psum = torch::zeros({}, sum_options), ysum = torch::zeros({}, sum_options);
        const EpochBatches val = batches_of(d_, d_.val, SamplePlan{false, 0, 0, o_.run.seed, epoch});
        const std::int64_t per = std::max(o_.run.batch, 4);
        OrderedPrefetcher<Batch> queue(val.batch_count(per), loaders_, 2 * static_cast<std::size_t>(loaders_), [&val, per](std::size_t k) { return val.batch(k, per); });
        Batch b;
        while (queue.next(b)) {
            const torch::Tensor x = to_device(b.x, b.x_shape, card_device()), y = to_device(b.y, b.y_shape, card_device());
            const torch::Tensor p = forward(x);
            inter += (p * y).sum().to(torch::kDouble);
            psum += p.sum().to(torch::kDouble);
            ysum += y.sum().to(torch::kDouble);
        }
        const double dice = (2 * inter.item<double>() + 1) / (psum.item<double>() + ysum.item<double>() + 1);
        v.values = {dice};
        v.score = dice;
        return v;
    }
    std::vector<std::string> validation_columns() const override { return {"val_dice"}; }

private:
    TrainOptions o_;
    Dataset d_;
    ModelCard card_;
    UNet model_{nullptr};
    int loaders_ = 1;
    std::vector<double> scores_;  // per row of index.csv after scored_epoch_ (NaN: not scored)
    int scored_epoch_ = 0;

    std::string scores_file(int epoch) const { return epoch_file(o_.run.run_dir, "nodule_scores", epoch); }

    // The scores after `epoch` (empty: none, and the nodules are drawn uniformly): this process's own, or the run
    // folder's when resuming. Kept as [[row, score], ...].
    std::vector<double> read_scores(int epoch) const {
        if (!o_.nodule_mining || epoch < 1) return {};
        if (epoch == scored_epoch_) return scores_;
        std::error_code ec;
        if (!fs::exists(scores_file(epoch), ec)) return {};
        std::vector<double> out(d_.pool.nodule_weight.size(), std::numeric_limits<double>::quiet_NaN());
        try {
            for (const json& pair : json::parse(read_file(scores_file(epoch)))) {
                const auto row = pair.at(0).get<std::int64_t>();
                if (row < 0 || row >= static_cast<std::int64_t>(out.size())) fail(scores_file(epoch), "row " + std::to_string(row) + " is not a sample of " + o_.data_dir);
                out[static_cast<std::size_t>(row)] = pair.at(1).get<double>();
            }
        } catch (const json::exception& e) {
            fail(scores_file(epoch), std::string("not a nodule scores file: ") + e.what());
        }
        return out;
    }

    // The training window (--crop, or the whole sample) centred on each nodule cut (8-connected) of each training
    // sample with nodule pixels: what score_samples runs the network on. The dataset's alone, so found once.
    struct NoduleWindow {
        std::int64_t row, x0, y0;
    };
    std::vector<NoduleWindow> windows_;
    bool windows_found_ = false;

    const std::vector<NoduleWindow>& nodule_windows() {
        if (windows_found_) return windows_;
        const std::int64_t S = d_.size, W = o_.crop > 0 ? o_.crop : d_.size;
        std::vector<float> m(static_cast<std::size_t>(S * S));
        std::vector<std::uint8_t> fg(m.size());
        for (const std::int64_t r : d_.pool.rows) {
            const auto u = static_cast<std::size_t>(r);
            if (!d_.pool.positive[u] || !(d_.pool.nodule_weight[u] > 0)) continue;
            d_.masks->values(static_cast<std::uint64_t>(r * S * S), m.size(), m.data());
            for (std::size_t n = 0; n < m.size(); ++n) fg[n] = m[n] > 0 ? 1 : 0;
            const Components c = label_slice(fg.data(), S, S, true);
            std::vector<double> sx(static_cast<std::size_t>(c.count)), sy(sx.size()), count(sx.size());
            for (std::size_t k = 0; k < c.runs.size(); ++k) {
                const auto l = static_cast<std::size_t>(c.label[k]);
                const Run& run = c.runs[k];
                const double n = run.x1 - run.x0;
                sx[l] += n * (run.x0 + run.x1 - 1) / 2.0;
                sy[l] += n * static_cast<double>(run.row);
                count[l] += n;
            }
            for (std::size_t l = 0; l < sx.size(); ++l)
                windows_.push_back({r, std::clamp<std::int64_t>(std::llround(sx[l] / count[l]) - W / 2, 0, S - W),
                                    std::clamp<std::int64_t>(std::llround(sy[l] / count[l]) - W / 2, 0, S - W)});
        }
        windows_found_ = true;
        return windows_;
    }

    // Each training sample with nodule pixels, scored as the network segments it now: the soft Dice of each of its
    // nodule windows, without augmentation; the sample's score is its lowest. About 330 windows on the demo's 80
    // training patients: 1-2 s an epoch on 2 cores.
    void score_samples(int epoch, const Forward& forward) {
        const std::int64_t W = o_.crop > 0 ? o_.crop : d_.size, C = d_.channels;
        const std::vector<NoduleWindow>& cuts = nodule_windows();
        std::vector<double> scores(d_.pool.nodule_weight.size(), std::numeric_limits<double>::quiet_NaN());
        const SliceSource src = d_.source();
        const auto plane = static_cast<std::size_t>(W * W), per = static_cast<std::size_t>(std::max(1, o_.run.batch));
        for (std::size_t first = 0; first < cuts.size(); first += per) {
            const std::size_t n = std::min(per, cuts.size() - first);
            Batch b;
            b.x_shape = {static_cast<std::int64_t>(n), C, W, W};
            b.y_shape = {static_cast<std::int64_t>(n), 1, W, W};
            b.x.resize(n * static_cast<std::size_t>(C) * plane);
            b.y.resize(n * plane);
            for (std::size_t i = 0; i < n; ++i) {
                const NoduleWindow& cut = cuts[first + i];
                render_sample(src, cut.row, static_cast<int>(W), cut.x0, cut.y0, SliceAugment{}, b.x.data() + i * static_cast<std::size_t>(C) * plane,
                              b.y.data() + i * plane);
            }
            const torch::Tensor p = forward(to_device(b.x, b.x_shape, card_device())).to(torch::kCPU).to(torch::kDouble);
            const torch::Tensor y = to_device(b.y, b.y_shape, torch::kCPU).to(torch::kDouble);
            const torch::Tensor dice = ((2 * (p * y).sum({1, 2, 3}) + 1) / (p.sum({1, 2, 3}) + y.sum({1, 2, 3}) + 1)).contiguous();
            const auto d = dice.accessor<double, 1>();
            for (std::size_t i = 0; i < n; ++i) {
                double& s = scores[static_cast<std::size_t>(cuts[first + i].row)];
                s = std::isnan(s) ? d[static_cast<std::int64_t>(i)] : std::min(s, d[static_cast<std::int64_t>(i)]);
            }
        }
        scores_ = scores;
        scored_epoch_ = epoch;
        if (!writes_files) return;
        json kept = json::array();
        for (std::size_t r = 0; r < scores.size(); ++r)
            if (!std::isnan(scores[r])) kept.push_back({r, scores[r]});
        keep_epoch_file(o_.run.run_dir, "nodule_scores", epoch, kept.dump() + "\n");
    }

    torch::Device card_device() const { return model_->parameters().front().device(); }
    // Samples and crops must halve evenly at every level of the network.
    void check_shapes(const std::string& where) const {
        const int step = 1 << (card_.unet.depth - 1);
        if (d_.size % step != 0)
            fail(where, "sample size " + std::to_string(d_.size) + " is not divisible by 2^(depth-1) = " + std::to_string(step));
        const int w = o_.crop > 0 ? o_.crop : d_.size;
        if (w % step != 0) throw OptionError("crop", "must be divisible by 2^(depth-1) = " + std::to_string(step) + ", got " + std::to_string(w));
    }
};

}  // namespace

std::vector<EpochMetrics> train_unet(const TrainOptions& o) {
    o.check();
    UNetVariant variant(o);
    std::vector<EpochMetrics> out;
    for (const EpochRecord& r : run_training(variant, o.run))
        out.push_back(metrics_from<EpochMetrics>([&](const char* c) { return r.get(c); }, unet_metrics_fields()));
    return out;
}

}  // namespace nodulecad
