#include "train/train.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/prefetch.hpp"
#include "core/progress.hpp"
#include "core/random.hpp"
#include "core/threads.hpp"
#include "io/csv.hpp"
#include "io/npy_map.hpp"
#include "io/text_numbers.hpp"
#include "model/run_mode.hpp"
#include "model/unet.hpp"
#include "train/sampling.hpp"
#include "train/schedule.hpp"
#include "train/slice_sample.hpp"

namespace nodulecad {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Data {
    std::unique_ptr<NpyMap> images, masks;
    std::vector<std::int64_t> val;
    SamplePool pool;  // training rows; nodule weights empty when the dataset predates the column
    int channels = 1, size = 0;
    double mean = 0, std = 1;
    nlohmann::json stats;
};

Data open_dataset(const std::string& dir) {
    Data d;
    const std::string stats_path = (fs::path(dir) / "stats.json").string();
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) fail(dir, "dataset folder not found (make it with nodulecad preprocess)");
    try {
        d.stats = nlohmann::json::parse(read_file(stats_path));
        d.mean = d.stats.at("train_mean").get<double>();
        d.std = d.stats.at("train_std").get<double>();
    } catch (const nlohmann::json::exception& e) {
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
    const CsvTable index = read_csv((fs::path(dir) / "index.csv").string(), true);
    if (static_cast<std::int64_t>(index.rows.size()) != is[0]) fail(dir, "index.csv and images.npy disagree on the number of samples");
    const std::size_t split = index.column("split");
    for (std::size_t r = 0; r < index.rows.size(); ++r)
        (index.rows[r].fields[split] == "val" ? d.val : d.pool.rows).push_back(static_cast<std::int64_t>(r));
    if (d.pool.rows.empty()) fail(dir, "no training samples in index.csv");
    const auto& names = index.header;
    if (std::find(names.begin(), names.end(), "nodule_weight") != names.end()) {
        const std::size_t wcol = index.column("nodule_weight"), pcol = index.column("positive");
        const std::string index_path = (fs::path(dir) / "index.csv").string();
        for (std::size_t r = 0; r < index.rows.size(); ++r) {
            const auto w = parse_double(index.rows[r].fields[wcol]);
            if (!w || !(*w >= 0)) fail(index_path, "nodule_weight must be a number >= 0", index.rows[r].line);
            d.pool.nodule_weight.push_back(*w);
            d.pool.positive.push_back(index.rows[r].fields[pcol] == "1");
        }
    }
    return d;
}

struct Batch {
    std::vector<float> x, y;
    std::int64_t n = 0;
};

SliceSource slice_source(const Data& d) {
    SliceSource s;
    s.images = d.images.get();
    s.masks = d.masks.get();
    s.channels = d.channels;
    s.size = d.size;
    s.mean = d.mean;
    s.std = d.std;
    return s;
}

// The samples of one epoch (train/sampling), capped by max_samples_per_epoch.
std::vector<std::int64_t> epoch_order(const Data& d, const TrainOptions& o, int epoch) {
    Rng rng = Rng::derive(o.seed, {static_cast<std::uint64_t>(epoch), 0x5F1ULL});
    std::vector<std::int64_t> order =
        sample_epoch(d.pool, o.epoch_samples > 0 ? static_cast<std::size_t>(o.epoch_samples) : d.pool.rows.size(), o.sampling, rng);
    if (o.max_samples_per_epoch > 0 && static_cast<std::int64_t>(order.size()) > o.max_samples_per_epoch)
        order.resize(static_cast<std::size_t>(o.max_samples_per_epoch));
    return order;
}

// How the samples of a pass are made: augmentation, crop, and the (seed, epoch) their random streams derive from.
struct SamplePlan {
    bool augment = false;
    double max_scale_change = 0;
    int crop = 0;
    std::uint64_t seed = 0;
    int epoch = 0;
};

Batch make_batch(const Data& d, const std::vector<std::int64_t>& rows, std::size_t first, std::size_t count, const SamplePlan& plan) {
    Batch b;
    const std::size_t side = static_cast<std::size_t>(plan.crop > 0 ? plan.crop : d.size), plane = side * side;
    b.n = static_cast<std::int64_t>(count);
    b.x.resize(count * static_cast<std::size_t>(d.channels) * plane);
    b.y.resize(count * plane);
    const SliceSource src = slice_source(d);
    for (std::size_t i = 0; i < count; ++i)
        fill_sample(src, rows[first + i], plan.augment, plan.crop,
                    Rng::derive(plan.seed, {static_cast<std::uint64_t>(plan.epoch), first + i, 0xA06ULL}),
                    b.x.data() + i * static_cast<std::size_t>(d.channels) * plane, b.y.data() + i * plane, plan.max_scale_change);
    return b;
}

// The batches of one pass over `rows`, made on `workers` background threads (OrderedPrefetcher: the same batches in
// the same order for any number), so the model never waits on I/O and augmentation.
class Prefetcher {
public:
    Prefetcher(const Data& d, const std::vector<std::int64_t>& rows, int batch, const SamplePlan& plan, int workers)
        : rows_(rows),
          batch_(static_cast<std::size_t>(batch)),
          queue_((rows_.size() + batch_ - 1) / batch_, workers, 2 * static_cast<std::size_t>(std::max(1, workers)),
                 [this, &d, plan](std::size_t k) {
                     const std::size_t first = k * batch_;
                     return make_batch(d, rows_, first, std::min(batch_, rows_.size() - first), plan);
                 }) {}
    bool next(Batch& out) { return queue_.next(out); }

private:
    std::vector<std::int64_t> rows_;
    std::size_t batch_;
    OrderedPrefetcher<Batch> queue_;
};

// A prepared batch on the device. To CUDA through pinned memory without waiting: a copy from pageable memory
// blocks the CPU until it is done, and the GPU would idle while the next step's kernels are queued.
torch::Tensor batch_to_device(std::vector<float>& data, std::vector<std::int64_t> sizes, const torch::Device& device) {
    const torch::Tensor host = torch::from_blob(data.data(), sizes);
    if (!device.is_cuda()) return host.to(device);
    return host.pin_memory().to(device, /*non_blocking=*/true);
}

torch::Tensor soft_dice(const torch::Tensor& p, const torch::Tensor& y) {
    return (2 * (p * y).sum() + 1) / (p.sum() + y.sum() + 1);
}

void write_metrics(const std::string& path, const std::vector<EpochMetrics>& all) {
    std::string out = "epoch,train_loss,train_dice,val_dice,images_per_s,seconds\n";
    for (const auto& m : all)
        out += format_csv_row({std::to_string(m.epoch), format_double(m.train_loss), format_double(m.train_dice), format_double(m.val_dice),
                               format_double(m.images_per_second), format_double(m.seconds)});
    write_file_atomically(path, out);
}

std::vector<EpochMetrics> read_metrics(const std::string& path) {
    std::vector<EpochMetrics> out;
    std::error_code ec;
    if (!fs::exists(path, ec)) return out;
    const CsvTable t = read_csv(path, true);
    for (const auto& r : t.rows) {
        EpochMetrics m;
        m.epoch = static_cast<int>(parse_int(r.fields.at(0)).value_or(0));
        m.train_loss = parse_double(r.fields.at(1)).value_or(0);
        m.train_dice = parse_double(r.fields.at(2)).value_or(0);
        m.val_dice = parse_double(r.fields.at(3)).value_or(0);
        m.images_per_second = parse_double(r.fields.at(4)).value_or(0);
        m.seconds = parse_double(r.fields.at(5)).value_or(0);
        out.push_back(m);
    }
    return out;
}

}  // namespace

std::vector<EpochMetrics> train_unet(const TrainOptions& o) {
    if (o.epochs < 1 || o.batch < 1 || !(o.lr > 0)) throw Error("--epochs, --batch and --lr must be positive");
    if (o.loss != "dice" && o.loss != "dice_bce") throw Error("--loss must be dice or dice_bce");
    if (o.epoch_samples < 0) throw Error("--epoch-samples must be >= 0");
    if (o.lr_schedule != "constant" && o.lr_schedule != "cosine") throw Error("--lr-schedule must be constant or cosine");
    torch::set_num_threads(std::max(1, o.threads));
    const torch::Device device = pick_device(o.device);
    const Data d = open_dataset(o.data_dir);
    if (o.sampling != "slices" && o.sampling != "nodules") throw Error("--sampling must be slices or nodules, not " + o.sampling);
    if (o.sampling == "nodules" && d.pool.nodule_weight.empty())
        fail((fs::path(o.data_dir) / "index.csv").string(), "no nodule_weight column for --sampling nodules (made by an older preprocess: run it again)");
    fs::create_directories(o.run_dir);
    const std::string last = (fs::path(o.run_dir) / "last.pt").string(), best = (fs::path(o.run_dir) / "best.pt").string();
    const std::string metrics_path = (fs::path(o.run_dir) / "metrics.csv").string();

    ModelCard card;
    UNet model{nullptr};
    std::vector<EpochMetrics> history;
    if (o.resume) {
        model = load_checkpoint(last, card, device);
        if (card.unet.in_channels != d.channels)
            fail(last, "model has " + std::to_string(card.unet.in_channels) + " input channels but the dataset has " + std::to_string(d.channels));
        if (card.size != d.size) fail(last, "model was trained on " + std::to_string(card.size) + " px samples, the dataset has " + std::to_string(d.size));
        history = read_metrics(metrics_path);
        history.resize(std::min<std::size_t>(history.size(), static_cast<std::size_t>(card.epoch)));
    } else {
        torch::manual_seed(o.seed);
        card.unet = o.unet;
        card.unet.in_channels = d.channels;
        card.size = d.size;
        const auto& opt = d.stats.at("options");
        card.pixel_mm = opt.at("pixel_mm").get<double>();
        card.window_lo = opt.at("window").at(0).get<double>();
        card.window_hi = opt.at("window").at(1).get<double>();
        card.context = opt.at("context").get<int>();
        card.mask_lungs = opt.at("mask_lungs").get<bool>();
        card.mean = d.mean;
        card.std = d.std;
        card.loss = o.loss;
        model = UNet(card.unet);
        model->to(device);
    }
    if (d.size % (1 << (card.unet.depth - 1)) != 0)
        throw Error("sample size " + std::to_string(d.size) + " is not divisible by 2^(depth-1) = " + std::to_string(1 << (card.unet.depth - 1)));
    const RunMode mode = run_mode(device, o.amp);
    enable_cudnn_autotune(device);
    apply_memory_format(*model, mode);
    if (o.loader_threads < 0) throw Error("--loader-threads must be >= 0");
    if (!(o.scale_augment >= 0 && o.scale_augment < 0.5)) throw Error("--scale-augment must be in [0, 0.5)");
    const int loaders = o.loader_threads > 0 ? o.loader_threads : device.is_cuda() ? std::clamp(default_thread_count() - 2, 1, 8) : 1;
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(o.lr));
    if (o.resume) load_optimizer_state(last, optimizer);
    {
        nlohmann::ordered_json cfg = nlohmann::json::parse(card.to_json());
        cfg["data"] = o.data_dir;
        cfg["epochs"] = o.epochs;
        cfg["batch"] = o.batch;
        cfg["lr"] = o.lr;
        cfg["augment"] = o.augment;
        cfg["scale_augment"] = o.scale_augment;
        cfg["seed"] = o.seed;
        cfg["device"] = device.str();
        cfg["bf16_autocast"] = mode.bf16_autocast;
        cfg["threads"] = o.threads;
        cfg["crop"] = o.crop;
        cfg["max_samples_per_epoch"] = o.max_samples_per_epoch;
        cfg["epoch_samples"] = o.epoch_samples;
        cfg["lr_schedule"] = o.lr_schedule;
        cfg["sampling"] = o.sampling;
        write_file_atomically((fs::path(o.run_dir) / "config.json").string(), cfg.dump(1) + "\n");
    }

    const std::int64_t S = d.size, C = d.channels, W = o.crop > 0 ? o.crop : S;
    if (o.crop < 0 || o.crop > S) throw Error("--crop must be between 0 and the sample size " + std::to_string(S));
    if (W % (1 << (card.unet.depth - 1)) != 0)
        throw Error("--crop " + std::to_string(W) + " is not divisible by 2^(depth-1) = " + std::to_string(1 << (card.unet.depth - 1)));
    std::vector<EpochMetrics> run;
    for (int epoch = card.epoch + 1; epoch <= o.epochs; ++epoch) {
        const auto t0 = Clock::now();
        const std::vector<std::int64_t> order = epoch_order(d, o, epoch);
        const double lr = scheduled_lr(o.lr, o.lr_schedule, epoch, o.epochs);
        for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
        model->train();
        // Running sums stay on the device: reading one waits for the GPU, so on CUDA the status is read every 16
        // batches only and the launch queue stays full.
        const auto sum_options = torch::TensorOptions().dtype(torch::kDouble).device(device);
        torch::Tensor loss_acc = torch::zeros({}, sum_options), dice_acc = torch::zeros({}, sum_options);
        std::int64_t batches = 0, images = 0;
        {
            Progress progress("train epoch " + std::to_string(epoch) + "/" + std::to_string(o.epochs), static_cast<std::int64_t>(order.size()), "images");
            Prefetcher prefetch(d, order, o.batch, SamplePlan{o.augment, o.scale_augment, o.crop, o.seed, epoch}, loaders);
            Batch b;
            while (prefetch.next(b)) {
                const torch::Tensor x = batch_to_device(b.x, {b.n, C, W, W}, device);
                const torch::Tensor y = batch_to_device(b.y, {b.n, 1, W, W}, device);
                const torch::Tensor p = forward_float(model, x, mode);
                const torch::Tensor dice = soft_dice(p, y);
                torch::Tensor loss = -dice;
                if (o.loss == "dice_bce") loss = loss + torch::binary_cross_entropy(p.clamp(1e-6, 1 - 1e-6), y);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                loss_acc += loss.detach().to(torch::kDouble);
                dice_acc += dice.detach().to(torch::kDouble);
                ++batches;
                images += b.n;
                if (!device.is_cuda() || batches % 16 == 0) {
                    char status[96];
                    std::snprintf(status, sizeof status, "loss %.4f Dice %.4f", loss_acc.item<double>() / static_cast<double>(batches),
                                  dice_acc.item<double>() / static_cast<double>(batches));
                    progress.set_status(status);
                }
                progress.advance(b.n);
            }
        }
        const double loss_sum = loss_acc.item<double>(), dice_sum = dice_acc.item<double>();
        // Validation Dice over the held-out patients (soft Dice of the whole split).
        double inter = 0, psum = 0, ysum = 0;
        if (!d.val.empty()) {
            torch::NoGradGuard no_grad;
            model->eval();
            torch::Tensor inter_acc = torch::zeros({}, sum_options), psum_acc = torch::zeros({}, sum_options),
                          ysum_acc = torch::zeros({}, sum_options);
            Prefetcher prefetch(d, d.val, std::max(o.batch, 4), SamplePlan{false, 0, 0, o.seed, epoch}, loaders);
            Batch b;
            while (prefetch.next(b)) {
                const torch::Tensor x = batch_to_device(b.x, {b.n, C, S, S}, device);
                const torch::Tensor y = batch_to_device(b.y, {b.n, 1, S, S}, device);
                const torch::Tensor p = forward_float(model, x, mode);
                inter_acc += (p * y).sum().to(torch::kDouble);
                psum_acc += p.sum().to(torch::kDouble);
                ysum_acc += y.sum().to(torch::kDouble);
            }
            inter = inter_acc.item<double>();
            psum = psum_acc.item<double>();
            ysum = ysum_acc.item<double>();
        }
        EpochMetrics m;
        m.epoch = epoch;
        m.train_loss = loss_sum / static_cast<double>(std::max<std::int64_t>(1, batches));
        m.train_dice = dice_sum / static_cast<double>(std::max<std::int64_t>(1, batches));
        m.val_dice = d.val.empty() ? m.train_dice : (2 * inter + 1) / (psum + ysum + 1);
        m.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
        m.images_per_second = static_cast<double>(images) / std::max(1e-9, m.seconds);
        card.epoch = epoch;
        const bool improved = m.val_dice > card.best_val_dice;
        if (improved) card.best_val_dice = m.val_dice;
        save_checkpoint(last, model, card, &optimizer);
        if (improved) save_checkpoint(best, model, card, nullptr);
        history.push_back(m);
        run.push_back(m);
        write_metrics(metrics_path, history);
    }
    return run;
}

bool cuda_available() { return torch::cuda::is_available(); }

BenchResult bench_unet(const BenchOptions& o) {
    torch::set_num_threads(std::max(1, o.threads));
    const torch::Device device = pick_device(o.device);
    torch::manual_seed(0);
    UNet model(o.unet);
    model->use_aten_upsample(o.aten_upsample);
    model->to(device);
    if (o.amp && !device.is_cuda()) throw Error("--amp: bf16 autocast is for CUDA devices; this run is on " + device.str());
    const RunMode mode = run_mode(device, o.amp);
    enable_cudnn_autotune(device);
    apply_memory_format(*model, mode);
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-5));
    const torch::Tensor x = as_input(torch::rand({o.batch, o.unet.in_channels, o.size, o.size}, torch::TensorOptions().device(device)), mode);
    const torch::Tensor y = (torch::rand({o.batch, 1, o.size, o.size}, torch::TensorOptions().device(device)) > 0.99).to(torch::kFloat);
    const auto step = [&] {
        if (o.mode == "train") {
            model->train();
            const torch::Tensor loss = -soft_dice(forward_float(model, x, mode), y);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        } else {
            torch::NoGradGuard no_grad;
            model->eval();
            (void)forward_float(model, x, mode).sum().item<float>();
        }
    };
    if (o.mode != "train" && o.mode != "infer") throw Error("bench: mode must be train or infer");
    for (int i = 0; i < o.warmup; ++i) step();
    if (device.is_cuda()) torch::cuda::synchronize();
    const auto t0 = Clock::now();
    for (int i = 0; i < o.iterations; ++i) step();
    if (device.is_cuda()) torch::cuda::synchronize();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    BenchResult r;
    r.images_per_second = o.iterations * o.batch / s;
    r.seconds_per_image = s / (o.iterations * o.batch);
    r.device = device.str() + (mode.bf16_autocast ? ", bf16 autocast, channels-last" : "") + (o.aten_upsample ? ", aten upsampling" : "");
    return r;
}

}  // namespace nodulecad
