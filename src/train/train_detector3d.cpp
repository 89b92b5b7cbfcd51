#include "nodulecad/train/train_detector3d.hpp"

#include <algorithm>
#include <array>
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
#include "nodulecad/io/npy_map.hpp"
#include "nodulecad/model/detector3d.hpp"
#include "nodulecad/preprocess/detector3d_dataset.hpp"
#include "nodulecad/train/patch_place.hpp"
#include "nodulecad/train/rank_group.hpp"
#include "nodulecad/train/resume_options.hpp"
#include "nodulecad/train/trainer.hpp"

namespace nodulecad {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

using Index3 = std::array<std::int64_t, 3>;

// One scan's box, memory-mapped, and its lung mask on the box when the input needs it.
struct Box {
    const Detector3dScan* scan = nullptr;
    std::unique_ptr<NpyMap> voxels, lungs;
    std::int64_t n(int a) const { return scan->geometry.size[static_cast<std::size_t>(a)]; }
    BoxView view() const { return {voxels->data(), {n(0), n(1), n(2)}}; }
    BoxView lungs_view() const { return {lungs->data(), {n(0), n(1), n(2)}}; }
};

struct Data {
    Detector3dDataset set;
    std::vector<Box> boxes;
    std::vector<std::size_t> train, val;                       // box indices
    std::vector<std::pair<std::size_t, std::size_t>> nodules;  // (box, nodule) of the training boxes
};

// A box-shaped uint8 volume of the dataset, memory-mapped.
std::unique_ptr<NpyMap> open_box_file(const std::string& path, const Detector3dScan& s) {
    auto map = std::make_unique<NpyMap>(path);
    const auto& h = map->header();
    if (h.dtype != ElementType::UInt8 || h.shape != std::vector<std::int64_t>{s.geometry.size[2], s.geometry.size[1], s.geometry.size[0]})
        fail(path, "does not match its entry in dataset.json (uint8, z-y-x of the box)");
    return map;
}

Data open_data(const std::string& dir, bool lung_masks) {
    Data d;
    d.set = read_detector3d_dataset(dir);
    d.boxes.resize(d.set.scans.size());
    for (std::size_t b = 0; b < d.set.scans.size(); ++b) {
        const Detector3dScan& s = d.set.scans[b];
        d.boxes[b].scan = &s;
        d.boxes[b].voxels = open_box_file((fs::path(dir) / s.file).string(), s);
        if (lung_masks) {
            if (s.lungs_file.empty())
                fail((fs::path(dir) / "dataset.json").string(),
                     "has no lung masks, which the lung+mask input needs (train-3d on a cohort builds them for it)");
            d.boxes[b].lungs = open_box_file((fs::path(dir) / s.lungs_file).string(), s);
        }
        (s.validation ? d.val : d.train).push_back(b);
        if (!s.validation)
            for (std::size_t n = 0; n < s.nodules.size(); ++n) d.nodules.emplace_back(b, n);
    }
    if (d.train.empty()) fail(dir, "no training scans (every scan validates)");
    return d;
}

// A false peak found on a training patch: a patch is later centred on it.
struct HardNegative {
    std::size_t box = 0;
    Index3 centre{};
};

class Detector3dVariant final : public TrainingVariant {
public:
    explicit Detector3dVariant(const Detector3dTrainOptions& o) : o_(o), d_(open_data(o.data_dir, o.net.needs_lung_mask())) {}

    torch::nn::Module& build(const torch::Device& device) override {
        card_.net = o_.net;
        card_.head = o_.head;
        card_.grid = d_.set.grid;
        card_.patch = o_.patch;
        model_ = Detector3d(card_.net);
        model_->to(device);
        return *model_;
    }
    torch::nn::Module& load(const std::string& checkpoint, const torch::Device& device, RunProgress& progress) override {
        model_ = load_detector3d(checkpoint, card_, device);
        if (card_.grid.spacing_mm != d_.set.grid.spacing_mm)
            fail(checkpoint, "model was trained on a " + std::to_string(card_.grid.spacing_mm) + " mm grid, the dataset has " +
                                 std::to_string(d_.set.grid.spacing_mm) + " mm");
        if (card_.grid.sampling != d_.set.grid.sampling)
            fail(checkpoint, std::string("model was trained on a grid sampled by ") + enum_name(card_.grid.sampling, kGridSamplingNames) +
                                 ", the dataset is sampled by " + enum_name(d_.set.grid.sampling, kGridSamplingNames));
        if (card_.head != o_.head)
            fail(checkpoint, "model was trained with the " + enum_name(card_.head, kDetector3dHeadNames) + " head, this run trains the " +
                                 enum_name(o_.head, kDetector3dHeadNames) + " head");
        if (card_.net.input != o_.net.input)
            fail(checkpoint, "model sees the " + enum_name(card_.net.input, kDetector3dInputNames) + " input, this run trains on " +
                                 enum_name(o_.net.input, kDetector3dInputNames));
        progress = {card_.epoch, card_.best_score};
        return *model_;
    }
    torch::Tensor forward(const torch::Tensor& x) override { return model_->forward(x); }
    void save(const std::string& path, const RunProgress& progress, torch::optim::Optimizer* optimizer) override {
        card_.epoch = progress.epoch;
        card_.best_score = progress.best_score;
        save_detector3d(path, model_, card_, optimizer);
    }
    nlohmann::ordered_json describe() const override {
        return {{"network", "detector3d"}, {"card", card_without_progress(card_.to_json(), "best_score")}, {"data", o_.data_dir}, {"options", json(o_)}};
    }

    EpochBatches epoch_batches(int epoch) override {
        const std::vector<HardNegative> hard = read_hard(epoch - 1);
        const std::vector<double> weights = cumulative_nodule_weights(read_scores(epoch - 1));
        EpochBatches e;
        e.samples = o_.epoch_samples;
        e.make = [this, hard, weights, epoch](std::int64_t first, std::int64_t count) {
            std::vector<PatchPlace> places;
            for (std::int64_t s = 0; s < count; ++s) {
                Rng rng = Rng::derive(o_.run.seed, {static_cast<std::uint64_t>(epoch), static_cast<std::uint64_t>(first + s), 0x3DDULL});
                places.push_back(draw_place(rng, hard, weights, o_.augment, d_.train));
            }
            return make_batch(places);
        };
        return e;
    }

    LossTerms loss(const torch::Tensor& out, const torch::Tensor& y) override {
        if (o_.head == Detector3dHead::Segmentation) return {detector3d_segmentation_loss(out, y.narrow(1, 0, 1), y.narrow(1, 1, 1), o_.loss), {}, {}};
        return {detector3d_loss(out, y.narrow(1, 0, 1), y.narrow(1, 1, 1), o_.loss), {}, {}};
    }

    // As several ranks: the whole step's loss, not each rank's own. Its terms are sums over the batch divided by the
    // batch's count of centre (inside-ball) voxels, and the segmentation head's soft Dice is a ratio of batch sums:
    // the counts and sums are all-reduced, and each rank backpropagates its sums over the global count and, for the
    // Dice, the linear term whose gradient on its voxels is the whole batch's Dice gradient. The ranks' losses add up to
    // the whole loss, and their gradients, summed by the trainer, to its gradient.
    LossTerms step_loss(const torch::Tensor& out, const torch::Tensor& y, const StepShare& share) override {
        const bool seg = o_.head == Detector3dHead::Segmentation;
        const auto opts = torch::TensorOptions().dtype(torch::kFloat).device(model_->parameters().front().device());
        const std::int64_t n_sums = seg ? 4 : 1;
        if (share.local == 0) {
            share.sum(torch::zeros({n_sums}, opts));
            return {torch::zeros({}, opts), {}, torch::zeros({}, opts)};
        }
        const torch::Tensor target = y.narrow(1, 0, 1), log_d = y.narrow(1, 1, 1);
        const Detector3dLossSums s = detector3d_loss_sums(out, target, log_d, o_.head, o_.loss);
        if (!seg) {
            const torch::Tensor n = share.sum(s.count.detach().to(torch::kFloat).reshape({1}))[0].clamp_min(1);
            const torch::Tensor l = s.focal / n + o_.loss.size_weight * (s.size / n);
            return {l, {}, l.detach()};
        }
        const torch::Tensor local = torch::stack({(s.p * target).sum(), s.p.sum(), target.sum(), s.count}).detach().to(torch::kFloat);
        const torch::Tensor all = share.sum(local);
        const torch::Tensor inter = all[0], denom = all[1] + all[2] + 1, n = all[3].clamp_min(1);
        const torch::Tensor dice = (2 * inter + 1) / denom;
        const double f = share.fraction();
        const torch::Tensor bce = torch::nn::functional::binary_cross_entropy_with_logits(out.select(1, 0).unsqueeze(1), target) * f;
        const torch::Tensor size = o_.loss.size_weight * (s.size / n);
        const torch::Tensor dice_term = -(2 * (s.p * target).sum() / denom - (2 * inter + 1) * s.p.sum() / (denom * denom));
        return {bce + dice_term + size, {}, (bce + (1 - dice) * f + size).detach()};
    }

    // The hard negatives of the next epoch, every epoch, and with nodule mining the training nodules' scores.
    void after_epoch(int epoch, const Forward& forward) override {
        mine_hard_negatives(epoch, forward);
        if (o_.nodule_mining) score_nodules(epoch, forward);
    }

    // The loss on fixed validation patches (each validation nodule off-centre, and random ones), as one batch of
    // them all would have it: sums and counts over every patch, divided at the end, so that it does not depend on
    // --batch (nor on the number of ranks: each rank validates every patch).
    Validation validate(int /*epoch*/, const Forward& forward) override {
        Validation v;
        if (val_places_.empty()) val_places_ = validation_places();
        if (val_places_.empty()) {
            v.values = {std::numeric_limits<double>::quiet_NaN(), static_cast<double>(hard_count_)};
            return v;
        }
        const bool seg = o_.head == Detector3dHead::Segmentation;
        // heatmap: focal, size, count; segmentation: bce sum, voxels, sum p*t, sum p, sum t, size, count
        std::vector<double> sums(seg ? 7 : 3, 0.0);
        const auto device = model_->parameters().front().device();
        for (std::size_t first = 0; first < val_places_.size(); first += static_cast<std::size_t>(o_.run.batch)) {
            const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(o_.run.batch), val_places_.size() - first);
            Batch b = make_batch({val_places_.begin() + static_cast<std::ptrdiff_t>(first), val_places_.begin() + static_cast<std::ptrdiff_t>(first + n)});
            const torch::Tensor x = to_device(b.x, b.x_shape, device), y = to_device(b.y, b.y_shape, device);
            const torch::Tensor out = forward(x), target = y.narrow(1, 0, 1);
            const Detector3dLossSums s = detector3d_loss_sums(out, target, y.narrow(1, 1, 1), o_.head, o_.loss);
            const auto add = [&](std::size_t i, const torch::Tensor& t) { sums[i] += t.to(torch::kDouble).item<double>(); };
            if (!seg) {
                add(0, s.focal), add(1, s.size), add(2, s.count);
                continue;
            }
            add(0, torch::nn::functional::binary_cross_entropy_with_logits(
                       out.select(1, 0).unsqueeze(1), target, torch::nn::functional::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kSum)));
            sums[1] += static_cast<double>(target.numel());
            add(2, (s.p * target).sum()), add(3, s.p.sum()), add(4, target.sum()), add(5, s.size), add(6, s.count);
        }
        const double w = o_.loss.size_weight;
        const double val_loss = seg ? sums[0] / sums[1] + (1 - (2 * sums[2] + 1) / (sums[3] + sums[4] + 1)) + w * sums[5] / std::max(1.0, sums[6])
                                    : (sums[0] + w * sums[1]) / std::max(1.0, sums[2]);
        v.values = {val_loss, static_cast<double>(hard_count_)};
        v.score = 1 / (1 + val_loss);  // in (0, 1], higher is better (the trainer's best score starts at -1)
        return v;
    }
    std::vector<std::string> validation_columns() const override { return {"val_loss", "hard_negatives"}; }

private:
    Detector3dTrainOptions o_;
    Data d_;
    Detector3dCard card_;
    Detector3d model_{nullptr};
    std::vector<PatchPlace> val_places_;
    std::size_t hard_count_ = 0;
    std::vector<HardNegative> mined_;
    int mined_epoch_ = 0;
    std::vector<double> scores_;  // each training nodule's (d_.nodules order) after scored_epoch_
    int scored_epoch_ = 0;

    int side() const { return o_.patch; }

    // A training nodule's index in d_.nodules: uniform, or by `weights` (cumulative) when given; one draw either way.
    std::size_t draw_nodule(Rng& rng, const std::vector<double>& weights) const {
        const double u = rng.uniform();
        if (weights.empty()) return static_cast<std::size_t>(u * static_cast<double>(d_.nodules.size()));
        const auto above = std::upper_bound(weights.begin(), weights.end(), u * weights.back());
        return std::min<std::size_t>(static_cast<std::size_t>(above - weights.begin()), d_.nodules.size() - 1);
    }

    // A patch placed around a nodule (its centre anywhere in the middle half), on a hard negative, or at random. The
    // nodule is drawn uniformly, or by `weights` (cumulative, one per training nodule) when given.
    PatchPlace draw_place(Rng& rng, const std::vector<HardNegative>& hard, const std::vector<double>& weights, bool augment,
                          const std::vector<std::size_t>& boxes) const {
        PatchPlace p;
        const int P = side();
        const double u = rng.uniform();
        const auto jitter = [&] { return static_cast<std::int64_t>(std::floor(rng.uniform(-P / 4.0, P / 4.0 + 1))); };
        if (u < o_.nodule_fraction && !d_.nodules.empty() && &boxes == &d_.train) {
            const auto& [b, n] = d_.nodules[draw_nodule(rng, weights)];
            p.box = b;
            const Vec3& c = d_.boxes[b].scan->nodules[n].index;
            for (int a = 0; a < 3; ++a) p.origin[static_cast<std::size_t>(a)] = std::llround(c[static_cast<std::size_t>(a)]) - P / 2 + jitter();
        } else if (u < o_.nodule_fraction + o_.hard_fraction && !hard.empty()) {
            const HardNegative& h = hard[static_cast<std::size_t>(rng.uniform() * static_cast<double>(hard.size()))];
            p.box = h.box;
            for (int a = 0; a < 3; ++a) p.origin[static_cast<std::size_t>(a)] = h.centre[static_cast<std::size_t>(a)] - P / 2 + jitter();
        } else {
            p.box = boxes[static_cast<std::size_t>(rng.uniform() * static_cast<double>(boxes.size()))];
            for (int a = 0; a < 3; ++a) {
                const std::int64_t n = d_.boxes[p.box].n(a), lo = std::min<std::int64_t>(0, n - P), hi = std::max<std::int64_t>(0, n - P);
                p.origin[static_cast<std::size_t>(a)] = lo + static_cast<std::int64_t>(rng.uniform() * static_cast<double>(hi - lo + 1));
            }
        }
        if (augment) {
            for (auto& f : p.flip) f = rng.uniform() < 0.5;
            p.swap_xy = rng.uniform() < 0.5;
            // Drawn only when asked for, so that runs without them draw what they always drew.
            if (o_.scale_augment > 0) p.scale = std::exp(rng.uniform(-std::log1p(o_.scale_augment), std::log1p(o_.scale_augment)));
            if (o_.contrast_augment > 0) p.contrast = rng.uniform(1 - o_.contrast_augment, 1 + o_.contrast_augment);
        }
        return p;
    }

    // Inputs (B, 1, P, P, P) in [-1, 1] (with the lung mask, (B, 2, P, P, P): the mask the same way, without the
    // contrast gain) and targets (B, 2, P, P, P): the heatmap (1 at each nodule's centre voxel, a Gaussian below 1
    // around it) and log-diameter at centre voxels; for the segmentation head, 1 inside each nodule's ball and
    // log-diameter there.
    Batch make_batch(const std::vector<PatchPlace>& places) const {
        const int P = side();
        const std::size_t vol = static_cast<std::size_t>(P) * static_cast<std::size_t>(P) * static_cast<std::size_t>(P);
        const auto B = static_cast<std::int64_t>(places.size());
        const int C = o_.net.fed_channels();
        const auto channels = static_cast<std::size_t>(C);
        Batch b;
        b.x.assign(places.size() * vol * channels, 0.f);
        b.y.assign(places.size() * vol * 2, 0.f);
        b.x_shape = {B, C, P, P, P};
        b.y_shape = {B, 2, P, P, P};
        for (std::size_t s = 0; s < places.size(); ++s) {
            const PatchPlace& p = places[s];
            const Box& box = d_.boxes[p.box];
            sample_patch(p, P, box.view(), b.x.data() + s * vol * channels);
            if (o_.net.needs_lung_mask()) {
                PatchPlace mask_place = p;
                mask_place.contrast = 1;
                sample_patch(mask_place, P, box.lungs_view(), b.x.data() + (s * channels + 1) * vol);
            }
            float* first = b.y.data() + s * vol * 2;
            if (o_.head == Detector3dHead::Segmentation)
                draw_balls(p, first, first + vol);
            else
                draw_targets(p, first, first + vol);
        }
        return b;
    }

    void draw_targets(const PatchPlace& p, float* heat, float* logd) const {
        const int P = side();
        const auto at = [P](std::int64_t x, std::int64_t y, std::int64_t z) {
            return static_cast<std::size_t>((z * P + y) * P + x);
        };
        for (const GridNodule& n : d_.boxes[p.box].scan->nodules) {
            const auto [q, diameter] = nodule_in_patch(p, P, n.index, n.diameter_mm);
            const double sigma = heatmap_sigma_voxels(diameter, d_.set.grid.spacing_mm), reach = 3 * sigma;
            std::array<std::int64_t, 3> lo{}, hi{};
            for (int a = 0; a < 3; ++a) {
                lo[static_cast<std::size_t>(a)] = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::ceil(q[static_cast<std::size_t>(a)] - reach)));
                hi[static_cast<std::size_t>(a)] = std::min<std::int64_t>(P - 1, static_cast<std::int64_t>(std::floor(q[static_cast<std::size_t>(a)] + reach)));
            }
            for (std::int64_t z = lo[2]; z <= hi[2]; ++z)
                for (std::int64_t y = lo[1]; y <= hi[1]; ++y)
                    for (std::int64_t x = lo[0]; x <= hi[0]; ++x) {
                        const double dx = static_cast<double>(x) - q[0], dy = static_cast<double>(y) - q[1], dz = static_cast<double>(z) - q[2];
                        const double d2 = dx * dx + dy * dy + dz * dz;
                        float& h = heat[at(x, y, z)];
                        if (h < 1) h = std::max(h, static_cast<float>(std::min(0.99, std::exp(-d2 / (2 * sigma * sigma)))));
                    }
            const std::int64_t cx = std::llround(q[0]), cy = std::llround(q[1]), cz = std::llround(q[2]);
            if (cx >= 0 && cy >= 0 && cz >= 0 && cx < P && cy < P && cz < P) {
                heat[at(cx, cy, cz)] = 1;
                logd[at(cx, cy, cz)] = static_cast<float>(std::log(std::max(diameter, 1.0)));
            }
        }
    }

    // Each nodule's ball (its diameter; at least the voxel holding its centre) as 1 in `mask`, log-diameter there.
    void draw_balls(const PatchPlace& p, float* mask, float* logd) const {
        const int P = side();
        const auto at = [P](std::int64_t x, std::int64_t y, std::int64_t z) { return static_cast<std::size_t>((z * P + y) * P + x); };
        for (const GridNodule& n : d_.boxes[p.box].scan->nodules) {
            const auto [q, diameter] = nodule_in_patch(p, P, n.index, n.diameter_mm);
            const double r = 0.5 * diameter / d_.set.grid.spacing_mm;
            const float value = static_cast<float>(std::log(std::max(diameter, 1.0)));
            const auto set = [&](std::int64_t x, std::int64_t y, std::int64_t z) {
                if (x < 0 || y < 0 || z < 0 || x >= P || y >= P || z >= P) return;
                mask[at(x, y, z)] = 1;
                logd[at(x, y, z)] = value;
            };
            std::array<std::int64_t, 3> lo{}, hi{};
            for (int a = 0; a < 3; ++a) {
                lo[static_cast<std::size_t>(a)] = static_cast<std::int64_t>(std::ceil(q[static_cast<std::size_t>(a)] - r));
                hi[static_cast<std::size_t>(a)] = static_cast<std::int64_t>(std::floor(q[static_cast<std::size_t>(a)] + r));
            }
            for (std::int64_t z = lo[2]; z <= hi[2]; ++z)
                for (std::int64_t y = lo[1]; y <= hi[1]; ++y)
                    for (std::int64_t x = lo[0]; x <= hi[0]; ++x) {
                        const double dx = static_cast<double>(x) - q[0], dy = static_cast<double>(y) - q[1], dz = static_cast<double>(z) - q[2];
                        if (dx * dx + dy * dy + dz * dz <= r * r) set(x, y, z);
                    }
            set(std::llround(q[0]), std::llround(q[1]), std::llround(q[2]));
        }
    }

    // Every validation nodule (off-centre by a fixed draw) and four random patches per validation scan, seeded by
    // the run's seed alone: the same patches every epoch.
    std::vector<PatchPlace> validation_places() const {
        std::vector<PatchPlace> out;
        const int P = side();
        for (std::size_t b : d_.val) {
            Rng rng = Rng::derive(o_.run.seed, {static_cast<std::uint64_t>(b), 0x7A1ULL});
            for (const GridNodule& n : d_.boxes[b].scan->nodules) {
                PatchPlace p;
                p.box = b;
                for (int a = 0; a < 3; ++a)
                    p.origin[static_cast<std::size_t>(a)] = std::llround(n.index[static_cast<std::size_t>(a)]) - P / 2 +
                                                            static_cast<std::int64_t>(std::floor(rng.uniform(-P / 4.0, P / 4.0 + 1)));
                out.push_back(p);
            }
            const std::vector<std::size_t> one{b};
            for (int r = 0; r < 4; ++r) out.push_back(draw_place(rng, {}, {}, false, one));
        }
        return out;
    }

    // What an epoch mined (hard negatives, nodule scores) is kept as RUN/<name>_<epoch>.json for a resumed run to draw
    // the same; the last two epochs' stay.
    std::string epoch_file(const std::string& name, int epoch) const { return nodulecad::epoch_file(o_.run.run_dir, name, epoch); }
    void keep_epoch_file(const std::string& name, int epoch, const json& mined) const {
        nodulecad::keep_epoch_file(o_.run.run_dir, name, epoch, mined.dump() + "\n");
    }
    std::string hard_file(int epoch) const { return epoch_file("hard_negatives", epoch); }

    // The hard negatives mined after `epoch`: this process's own (every rank mines them; rank 0 alone writes them),
    // or the run folder's when resuming.
    std::vector<HardNegative> read_hard(int epoch) const {
        if (epoch >= 1 && epoch == mined_epoch_) return mined_;
        std::vector<HardNegative> out;
        std::error_code ec;
        if (epoch < 1 || !fs::exists(hard_file(epoch), ec)) return out;
        for (const json& h : json::parse(read_file(hard_file(epoch)))) out.push_back({h.at(0).get<std::size_t>(), {h.at(1).get<std::int64_t>(), h.at(2).get<std::int64_t>(), h.at(3).get<std::int64_t>()}});
        return out;
    }

    // Random training patches through the network; each voxel that is a local maximum of the heatmap (the segmentation
    // head's nodule probability) above 0.1 and farther than a nodule's radius + 2 voxels from every nodule is a hard
    // negative (the 4 strongest per patch).
    // Written as RUN/hard_negatives_<epoch>.json before the epoch's checkpoint, so a resumed run draws the same.
    void mine_hard_negatives(int epoch, const Forward& forward) {
        hard_count_ = 0;
        if (o_.hard_fraction <= 0 || o_.hard_mining_patches <= 0) return;
        const auto device = model_->parameters().front().device();
        json found = json::array();
        for (int first = 0; first < o_.hard_mining_patches; first += o_.run.batch) {
            std::vector<PatchPlace> places;
            for (int s = first; s < std::min(o_.hard_mining_patches, first + o_.run.batch); ++s) {
                Rng rng = Rng::derive(o_.run.seed, {static_cast<std::uint64_t>(epoch), static_cast<std::uint64_t>(s), 0x4A2DULL});
                PatchPlace p = draw_place(rng, {}, {}, false, d_.train);
                places.push_back(p);
            }
            Batch b = make_batch(places);
            const torch::Tensor heat = torch::sigmoid(forward(to_device(b.x, b.x_shape, device)).narrow(1, 0, 1)).to(torch::kCPU);
            const torch::Tensor peaks = heat.eq(torch::max_pool3d(heat, 3, 1, 1)).logical_and(heat.gt(0.1));
            for (std::size_t s = 0; s < places.size(); ++s) {
                const torch::Tensor idx = peaks[static_cast<std::int64_t>(s)][0].nonzero();  // (n, 3): z, y, x
                std::vector<std::pair<float, Index3>> cands;
                const torch::Tensor hs = heat[static_cast<std::int64_t>(s)][0].contiguous();
                const auto h = hs.accessor<float, 3>();
                const auto id = idx.accessor<std::int64_t, 2>();
                for (std::int64_t r = 0; r < idx.size(0); ++r) {
                    const Index3 v{id[r][2], id[r][1], id[r][0]};
                    if (near_nodule(places[s], v)) continue;
                    cands.emplace_back(h[v[2]][v[1]][v[0]], v);
                }
                std::sort(cands.begin(), cands.end(), [](const auto& a, const auto& c) { return a.first > c.first; });
                for (std::size_t c = 0; c < std::min<std::size_t>(4, cands.size()); ++c) {
                    const Index3& v = cands[c].second;
                    found.push_back({places[s].box, places[s].origin[0] + v[0], places[s].origin[1] + v[1], places[s].origin[2] + v[2]});
                }
            }
        }
        hard_count_ = found.size();
        mined_.clear();
        for (const json& h : found) mined_.push_back({h.at(0).get<std::size_t>(), {h.at(1).get<std::int64_t>(), h.at(2).get<std::int64_t>(), h.at(3).get<std::int64_t>()}});
        mined_epoch_ = epoch;
        if (!writes_files) return;
        keep_epoch_file("hard_negatives", epoch, found);
    }

    std::string scores_file(int epoch) const { return epoch_file("nodule_scores", epoch); }

    // The training nodules' scores after `epoch` (empty: none, and nodules are drawn uniformly): this process's own,
    // or the run folder's when resuming.
    std::vector<double> read_scores(int epoch) const {
        if (!o_.nodule_mining || epoch < 1) return {};
        if (epoch == scored_epoch_) return scores_;
        std::error_code ec;
        if (!fs::exists(scores_file(epoch), ec)) return {};
        std::vector<double> out = json::parse(read_file(scores_file(epoch))).get<std::vector<double>>();
        if (out.size() != d_.nodules.size())
            fail(scores_file(epoch), "holds " + std::to_string(out.size()) + " scores for " + std::to_string(d_.nodules.size()) + " training nodules");
        return out;
    }

    // Why the weights: the nodules a 3D network misses are few and alike (small ones against vessels, ground-glass
    // ones; docs/model.md) and uniform draws show them as rarely as the easy ones. A nodule the network scores 0 is
    // drawn five times as often as one it scores 1 (weight 1.25 - score).
    static std::vector<double> cumulative_nodule_weights(const std::vector<double>& scores) {
        std::vector<double> cum;
        double total = 0;
        for (double s : scores) cum.push_back(total += 1.25 - std::clamp(s, 0.0, 1.0));
        return cum;
    }

    // Each training nodule on a patch centred on it (no augmentation): its score is the heatmap's (the segmentation
    // head's probability's) highest value within its radius + 1 voxel of its centre. Written as
    // RUN/nodule_scores_<epoch>.json before the epoch's checkpoint, so a resumed run draws the same.
    void score_nodules(int epoch, const Forward& forward) {
        const auto device = model_->parameters().front().device();
        const int P = side();
        std::vector<double> scores;
        for (std::size_t first = 0; first < d_.nodules.size(); first += static_cast<std::size_t>(o_.run.batch)) {
            std::vector<PatchPlace> places;
            const std::size_t last = std::min(d_.nodules.size(), first + static_cast<std::size_t>(o_.run.batch));
            for (std::size_t i = first; i < last; ++i) {
                PatchPlace p;
                p.box = d_.nodules[i].first;
                const Vec3& c = d_.boxes[p.box].scan->nodules[d_.nodules[i].second].index;
                for (int a = 0; a < 3; ++a) p.origin[static_cast<std::size_t>(a)] = std::llround(c[static_cast<std::size_t>(a)]) - P / 2;
                places.push_back(p);
            }
            Batch b = make_batch(places);
            const torch::Tensor heat = torch::sigmoid(forward(to_device(b.x, b.x_shape, device)).narrow(1, 0, 1)).to(torch::kCPU).to(torch::kFloat);
            for (std::size_t s = 0; s < places.size(); ++s) {
                const GridNodule& n = d_.boxes[places[s].box].scan->nodules[d_.nodules[first + s].second];
                std::array<double, 3> q{};
                for (std::size_t a = 0; a < 3; ++a) q[a] = n.index[a] - static_cast<double>(places[s].origin[a]);
                scores.push_back(highest_within(heat[static_cast<std::int64_t>(s)][0].contiguous(), q, 0.5 * n.diameter_mm / d_.set.grid.spacing_mm + 1));
            }
        }
        scores_ = scores;
        scored_epoch_ = epoch;
        if (!writes_files) return;
        keep_epoch_file("nodule_scores", epoch, json(scores));
    }

    // The highest value of a (P, P, P) patch within `r` voxels of the patch point q (x, y, z).
    static double highest_within(const torch::Tensor& patch, const std::array<double, 3>& q, double r) {
        const auto v = patch.accessor<float, 3>();
        const std::int64_t P = patch.size(0);
        std::array<std::int64_t, 3> lo{}, hi{};
        for (std::size_t a = 0; a < 3; ++a) {
            lo[a] = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::ceil(q[a] - r)));
            hi[a] = std::min<std::int64_t>(P - 1, static_cast<std::int64_t>(std::floor(q[a] + r)));
        }
        double best = 0;
        for (std::int64_t z = lo[2]; z <= hi[2]; ++z)
            for (std::int64_t y = lo[1]; y <= hi[1]; ++y)
                for (std::int64_t x = lo[0]; x <= hi[0]; ++x) {
                    const double dx = static_cast<double>(x) - q[0], dy = static_cast<double>(y) - q[1], dz = static_cast<double>(z) - q[2];
                    if (dx * dx + dy * dy + dz * dz <= r * r) best = std::max(best, static_cast<double>(v[z][y][x]));
                }
        return best;
    }

    bool near_nodule(const PatchPlace& p, const Index3& v) const {
        for (const GridNodule& n : d_.boxes[p.box].scan->nodules) {
            const double r = 0.5 * n.diameter_mm / d_.set.grid.spacing_mm + 2;
            double d2 = 0;
            for (int a = 0; a < 3; ++a) {
                const double dd = static_cast<double>(p.origin[static_cast<std::size_t>(a)] + v[static_cast<std::size_t>(a)]) - n.index[static_cast<std::size_t>(a)];
                d2 += dd * dd;
            }
            if (d2 <= r * r) return true;
        }
        return false;
    }
};

}  // namespace

namespace {

std::vector<Detector3dEpoch> train_joined(const Detector3dTrainOptions& o, RankGroup* ranks) {
    Detector3dVariant variant(o);
    std::vector<Detector3dEpoch> out;
    for (const EpochRecord& r : run_training(variant, o.run, ranks)) {
        Detector3dEpoch e;
        e.epoch = static_cast<int>(r.get("epoch"));
        e.train_loss = r.get("train_loss");
        e.val_loss = r.get("val_loss");
        e.hard_negatives = r.get("hard_negatives");
        e.samples_per_second = r.get("samples_per_s");
        e.seconds = r.get("seconds");
        out.push_back(e);
    }
    return out;
}

// What makes a built dataset the one asked for (RUN/grid3d/options.json).
json dataset_key(const Detector3dDatasetOptions& d) {
    json key = {{"data", d.data_dir}, {"annotations", d.annotations}, {"grid", d.grid}, {"val_fraction", d.val_fraction}, {"val_subsets", d.val_subsets},
                {"seed", d.seed}};
    if (d.lung_mask) key["lung_mask"] = true;  // only then: datasets built before masks existed keep their key
    return key;
}

std::string dataset_key_file(const std::string& dir) { return (fs::path(dir) / "options.json").string(); }

// The dataset in d.out_dir as asked for: reused when there with the same key (or whenever `resuming`), else built.
Detector3dDataset dataset_for(const Detector3dDatasetOptions& d, bool resuming, bool& reused) {
    std::error_code ec;
    const bool there = fs::exists(fs::path(d.out_dir) / "dataset.json", ec);
    if (resuming) {
        if (!there) fail(d.out_dir, "the run's 3D dataset is missing (no dataset.json); start the run again without --resume");
        reused = true;
        return read_detector3d_dataset(d.out_dir);
    }
    if (there && fs::exists(dataset_key_file(d.out_dir), ec)) {
        try {
            if (json::parse(read_file(dataset_key_file(d.out_dir))) == dataset_key(d)) {
                reused = true;
                return read_detector3d_dataset(d.out_dir);
            }
        } catch (const json::exception&) {
            // an unreadable key: built again below
        }
    }
    fs::remove_all(d.out_dir, ec);
    Detector3dDataset set = build_detector3d_dataset(d);
    write_file_atomically(dataset_key_file(d.out_dir), dataset_key(d).dump(1) + "\n");
    reused = false;
    return set;
}

}  // namespace

std::vector<Detector3dEpoch> train_detector3d(const Detector3dTrainOptions& o) {
    o.check();
    return train_joined(o, nullptr);
}

Detector3dTrainOptions detector3d_resume_options(const std::string& run_dir) { return resume_options_of<Detector3dTrainOptions>(run_dir, "detector3d"); }

Detector3dCohortResult train_detector3d_on_cohort(Detector3dDatasetOptions set, Detector3dTrainOptions train) {
    train.check();
    if (train.run.run_dir.empty()) throw OptionError("run_dir", "is needed");
    set.out_dir = (fs::path(train.run.run_dir) / "grid3d").string();
    set.seed = train.run.seed;
    set.lung_mask = set.lung_mask || train.net.needs_lung_mask();
    train.data_dir = set.out_dir;
    // Several ranks: rank 0 builds (or checks) the dataset while the others wait as long as it takes (a rank 0 that
    // fails ends them at once), then they open the finished one.
    const std::unique_ptr<RankGroup> ranks = join_ranks(train.run);
    std::optional<FolderLock> lock;  // rank 0's, from the dataset on (the trainer's own nests in it)
    if (!ranks || ranks->rank() == 0) lock.emplace(train.run.run_dir, "train-3d");
    Detector3dCohortResult r;
    if (!ranks || ranks->rank() == 0) r.set = dataset_for(set, train.run.resume, r.reused);
    if (ranks) ranks->barrier(std::chrono::hours(24));
    if (ranks && ranks->rank() != 0) {
        r.set = read_detector3d_dataset(set.out_dir);
        r.reused = true;
    }
    r.epochs = train_joined(train, ranks.get());
    return r;
}

}  // namespace nodulecad
