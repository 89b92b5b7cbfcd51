#include "train/train_fpr.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/progress.hpp"
#include "core/random.hpp"
#include "evaluate/classification.hpp"
#include "evaluate/froc.hpp"
#include "io/csv.hpp"
#include "io/npy_map.hpp"
#include "io/text_numbers.hpp"
#include "model/fpr_net.hpp"
#include "model/unet.hpp"  // pick_device
#include "train/schedule.hpp"

namespace nodulecad {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::int64_t kMinPerClass = 20;

const char* kMetricsHeader =
    "epoch,train_loss,val_loss,val_auc,val_precision,val_recall,val_f1,cpm_before,cpm_after,samples_per_s,seconds,cpm_product,cpm_mean";

void write_metrics(const std::string& path, const std::vector<FprEpochMetrics>& all) {
    std::string out = std::string(kMetricsHeader) + "\n";
    for (const auto& m : all)
        out += format_csv_row({std::to_string(m.epoch), format_double(m.train_loss), format_double(m.val_loss), format_double(m.val_auc),
                               format_double(m.val_precision), format_double(m.val_recall), format_double(m.val_f1), format_double(m.cpm_before),
                               format_double(m.cpm_after), format_double(m.samples_per_second), format_double(m.seconds),
                               format_double(m.cpm_product), format_double(m.cpm_mean)});
    write_file_atomically(path, out);
}

std::vector<FprEpochMetrics> read_metrics(const std::string& path) {
    std::vector<FprEpochMetrics> out;
    std::error_code ec;
    if (!fs::exists(path, ec)) return out;
    const CsvTable t = read_csv(path, true);
    for (const auto& r : t.rows) {
        if (r.fields.size() < 11) fail(path, "expected at least 11 columns", r.line);
        double v[13];
        for (std::size_t k = 0; k < 13; ++k)
            v[k] = k < r.fields.size() ? parse_double(r.fields[k]).value_or(std::numeric_limits<double>::quiet_NaN()) : std::numeric_limits<double>::quiet_NaN();
        FprEpochMetrics m;
        m.epoch = static_cast<int>(v[0]);
        m.train_loss = v[1];
        m.val_loss = v[2];
        m.val_auc = v[3];
        m.val_precision = v[4];
        m.val_recall = v[5];
        m.val_f1 = v[6];
        m.cpm_before = v[7];
        m.cpm_after = v[8];
        m.samples_per_second = v[9];
        m.seconds = v[10];
        m.cpm_product = v[11];
        m.cpm_mean = v[12];
        out.push_back(m);
    }
    return out;
}

bool same_patch(const PatchOptions& a, const PatchOptions& b) {
    return a.patch == b.patch && a.patch_mm == b.patch_mm && a.slab == b.slab && a.max_shift == b.max_shift && a.window_lo == b.window_lo &&
           a.window_hi == b.window_hi;
}

// The epoch's sample list: every training negative once, positives cycled (reshuffled each cycle) up to the
// balanced count, all shuffled; derived from (seed, epoch) only.
std::vector<std::int64_t> epoch_order(const std::vector<std::int64_t>& pos, const std::vector<std::int64_t>& neg, double ratio,
                                      std::int64_t cap, std::uint64_t seed, int epoch) {
    Rng rng = Rng::derive(seed, {static_cast<std::uint64_t>(epoch), 0xF9ULL});
    const auto shuffle = [&](std::vector<std::int64_t>& v) {
        for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<std::size_t>(rng.uniform() * static_cast<double>(i))]);
    };
    std::vector<std::int64_t> order = neg;
    const auto want = std::max<std::int64_t>(static_cast<std::int64_t>(pos.size()), std::llround(ratio * static_cast<double>(neg.size())));
    std::vector<std::int64_t> cycle;
    for (std::int64_t n = 0; n < want; ++n) {
        if (cycle.empty()) {
            cycle = pos;
            shuffle(cycle);
        }
        order.push_back(cycle.back());
        cycle.pop_back();
    }
    shuffle(order);
    if (cap > 0 && static_cast<std::int64_t>(order.size()) > cap) order.resize(static_cast<std::size_t>(cap));
    return order;
}

}  // namespace

FprTrainResult train_fpr(const FprTrainOptions& o) {
    if (o.epochs < 1 || o.batch < 1 || !(o.lr > 0)) throw Error("--epochs, --batch and --lr must be positive");
    (void)scheduled_lr(o.lr, o.lr_schedule, 1, o.epochs);  // Error for an unknown schedule, before any work
    if (o.symmetries < 1 || o.symmetries > 8) throw Error("--symmetries must be 1 to 8");
    if (!(o.positive_ratio > 0)) throw Error("--positive-ratio must be positive");
    torch::set_num_threads(std::max(1, o.threads));
    const torch::Device device = pick_device(o.device);
    const std::string& run = o.set.out_dir;
    const std::string last = (fs::path(run) / "last.pt").string(), best = (fs::path(run) / "best.pt").string();
    const std::string metrics_path = (fs::path(run) / "metrics.csv").string();

    FprCard card;
    FprNet model{nullptr};
    std::vector<FprEpochMetrics> history;
    FprSetOptions set_opts = o.set;
    if (o.resume) {
        model = load_fpr_checkpoint(last, card, device);
        set_opts.patch = card.patch;  // the cut the model was trained on
        history = read_metrics(metrics_path);
        history.resize(std::min<std::size_t>(history.size(), static_cast<std::size_t>(card.epoch)));
    }
    FprTrainResult result;
    result.set = build_fpr_set(set_opts);
    const PatchOptions& patch = set_opts.patch;
    const std::vector<FprRow> rows = read_fpr_rows((fs::path(run) / "patches.csv").string());
    const NpyMap cubes((fs::path(run) / "patches.npy").string());
    const std::int64_t D = patch.cube();
    const auto& shape = cubes.header().shape;
    if (cubes.header().dtype != ElementType::UInt8 || shape.size() != 4 || shape[0] != static_cast<std::int64_t>(rows.size()) || shape[1] != D ||
        shape[2] != D || shape[3] != D)
        fail((fs::path(run) / "patches.npy").string(), "does not match patches.csv and the patch options (delete it to rebuild)");
    const std::size_t cube_bytes = static_cast<std::size_t>(D * D * D);
    const auto cube = [&](std::int64_t r) { return cubes.data() + static_cast<std::size_t>(r) * cube_bytes; };

    std::vector<std::int64_t> pos, neg, val;
    for (std::size_t r = 0; r < rows.size(); ++r) {
        if (rows[r].val) {
            if (rows[r].from_candidates) val.push_back(static_cast<std::int64_t>(r));
        } else {
            (rows[r].label ? pos : neg).push_back(static_cast<std::int64_t>(r));
        }
    }
    if (pos.empty() || neg.empty())
        throw Error("train-fpr needs positive and negative training candidates (have " + std::to_string(pos.size()) + " positive, " +
                    std::to_string(neg.size()) + " negative)");

    if (!o.resume) {
        torch::manual_seed(o.set.seed);
        card.net = o.net;
        card.patch = patch;
        model = FprNet(card.net);
        model->to(device);
    } else if (!same_patch(card.patch, patch)) {
        fail(last, "model was trained on another patch cut");
    }
    card.symmetries = o.symmetries;
    card.train_positives = static_cast<std::int64_t>(pos.size());
    card.train_negatives = static_cast<std::int64_t>(neg.size());
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(o.lr));
    if (o.resume) load_optimizer_state(last, optimizer);
    {
        nlohmann::ordered_json cfg = nlohmann::json::parse(card.to_json());
        cfg["data"] = o.set.data_dir;
        cfg["candidates"] = o.set.candidates;
        cfg["annotations"] = o.set.annotations;
        cfg["excluded"] = o.set.excluded;
        cfg["add_annotations"] = o.set.add_annotations;
        cfg["val_fraction"] = o.set.val_fraction;
        cfg["val_subsets"] = o.set.val_subsets;
        cfg["max_samples_per_epoch"] = o.max_samples_per_epoch;
        cfg["epochs"] = o.epochs;
        cfg["batch"] = o.batch;
        cfg["lr"] = o.lr;
        cfg["lr_schedule"] = o.lr_schedule;
        cfg["symmetries"] = o.symmetries;
        cfg["positive_ratio"] = o.positive_ratio;
        cfg["augment"] = o.augment;
        cfg["seed"] = o.set.seed;
        cfg["device"] = device.str();
        cfg["threads"] = o.threads;
        cfg["val_uids"] = result.set.val_uids;
        write_file_atomically((fs::path(run) / "config.json").string(), cfg.dump(1) + "\n");
    }

    // Validation FROC inputs: the validation scans' candidates, scored before (U-Net) and after (this network).
    std::vector<Annotation> nodules, excluded;
    {
        const std::string ann = o.set.annotations.empty() ? default_annotations(o.set.data_dir) : o.set.annotations;
        const std::string exc = o.set.excluded.empty() ? default_excluded(o.set.data_dir) : o.set.excluded;
        nodules = read_annotations(ann);
        if (!exc.empty()) excluded = read_annotations(exc);
    }
    std::vector<Candidate> before;
    std::vector<int> val_labels;
    for (const std::int64_t r : val) {
        const FprRow& row = rows[static_cast<std::size_t>(r)];
        before.push_back({row.seriesuid, row.world, row.probability});
        val_labels.push_back(row.label);
    }
    std::int64_t val_positives = 0, val_negatives = 0;
    for (const int l : val_labels) (l ? val_positives : val_negatives) += 1;
    const double cpm_before = result.set.val_uids.empty() ? std::numeric_limits<double>::quiet_NaN()
                                                          : evaluate_froc(nodules, excluded, result.set.val_uids, before).cpm;

    // The validation cubes side by side, gathered once (they are scattered among the training rows of the file).
    std::vector<std::uint8_t> val_cubes(val.size() * cube_bytes);
    for (std::size_t i = 0; i < val.size(); ++i) std::copy_n(cube(val[i]), cube_bytes, val_cubes.data() + i * cube_bytes);

    const std::int64_t P = patch.patch, C = patch.channels();
    const std::size_t view_floats = static_cast<std::size_t>(C * P * P);
    for (int epoch = card.epoch + 1; epoch <= o.epochs; ++epoch) {
        const auto t0 = Clock::now();
        const std::vector<std::int64_t> order = epoch_order(pos, neg, o.positive_ratio, o.max_samples_per_epoch, o.set.seed, epoch);
        torch::manual_seed(mix64(o.set.seed ^ (0xD50ULL + static_cast<std::uint64_t>(epoch))));  // dropout: resumable exactly
        for (auto& group : optimizer.param_groups())
            static_cast<torch::optim::AdamOptions&>(group.options()).lr(scheduled_lr(o.lr, o.lr_schedule, epoch, o.epochs));
        model->train();
        double loss_sum = 0;
        std::int64_t seen = 0;
        {
            Progress progress("train-fpr epoch " + std::to_string(epoch) + "/" + std::to_string(o.epochs), static_cast<std::int64_t>(order.size()),
                              "patches");
            std::vector<float> x, y;
            for (std::size_t first = 0; first < order.size(); first += static_cast<std::size_t>(o.batch)) {
                const std::size_t b = std::min<std::size_t>(static_cast<std::size_t>(o.batch), order.size() - first);
                x.resize(b * view_floats);
                y.resize(b);
                for (std::size_t i = 0; i < b; ++i) {
                    const std::int64_t r = order[first + i];
                    Rng rng = Rng::derive(o.set.seed, {static_cast<std::uint64_t>(epoch), first + i, 0xA7ULL});
                    const Augment aug = o.augment ? draw_augment(rng, patch.max_shift) : Augment{};
                    cube_views(cube(r), patch, aug, x.data() + i * view_floats);
                    y[i] = static_cast<float>(rows[static_cast<std::size_t>(r)].label);
                }
                const auto n = static_cast<std::int64_t>(b);
                const torch::Tensor logits = model->forward(torch::from_blob(x.data(), {n, C, P, P}).to(device));
                const torch::Tensor loss = torch::binary_cross_entropy_with_logits(logits, torch::from_blob(y.data(), {n}).to(device));
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                loss_sum += loss.item<double>() * static_cast<double>(n);
                seen += n;
                char status[64];
                std::snprintf(status, sizeof status, "loss %.4f", loss_sum / static_cast<double>(seen));
                progress.set_status(status);
                progress.advance(n);
            }
        }
        FprEpochMetrics m;
        m.epoch = epoch;
        m.train_loss = loss_sum / static_cast<double>(std::max<std::int64_t>(1, seen));
        m.val_loss = m.val_auc = m.val_precision = m.val_recall = m.val_f1 = m.cpm_after = m.cpm_product = m.cpm_mean =
            std::numeric_limits<double>::quiet_NaN();
        m.cpm_before = cpm_before;
        if (!val.empty()) {
            const std::vector<double> p = fpr_probabilities(model, val_cubes.data(), static_cast<std::int64_t>(val.size()), patch, device, 64, o.symmetries);
            double bce = 0;
            std::vector<Candidate> after = before;
            for (std::size_t i = 0; i < val.size(); ++i) {
                const double q = std::clamp(p[i], 1e-7, 1 - 1e-7);
                bce -= val_labels[i] ? std::log(q) : std::log(1 - q);
                after[i].probability = p[i];
            }
            const BinaryScores s = binary_scores(p, val_labels);
            m.val_loss = bce / static_cast<double>(val.size());
            m.val_auc = s.auc;
            m.val_precision = s.precision;
            m.val_recall = s.recall;
            m.val_f1 = s.f1;
            m.cpm_after = evaluate_froc(nodules, excluded, result.set.val_uids, after).cpm;
            for (std::size_t i = 0; i < val.size(); ++i) after[i].probability = before[i].probability * p[i];
            m.cpm_product = evaluate_froc(nodules, excluded, result.set.val_uids, after).cpm;
            for (std::size_t i = 0; i < val.size(); ++i) after[i].probability = (before[i].probability + p[i]) / 2;
            m.cpm_mean = evaluate_froc(nodules, excluded, result.set.val_uids, after).cpm;
        }
        m.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
        m.samples_per_second = static_cast<double>(seen) / std::max(1e-9, m.seconds);
        card.epoch = epoch;
        // Best by validation AUC (smooth, unlike a CPM over few scans) when the validation candidates hold at least
        // kMinPerClass of each class; with fewer, an AUC picks noise (often an early, barely trained epoch), so the
        // latest epoch is kept.
        const bool choosable = val_positives >= kMinPerClass && val_negatives >= kMinPerClass;
        const bool improved = !choosable || std::isnan(m.val_auc) || m.val_auc > card.best_val_auc;
        if (improved && !std::isnan(m.val_auc)) card.best_val_auc = m.val_auc;
        save_fpr_checkpoint(last, model, card, &optimizer);
        if (improved) save_fpr_checkpoint(best, model, card, nullptr);
        history.push_back(m);
        result.epochs.push_back(m);
        write_metrics(metrics_path, history);
    }
    return result;
}

int fpr_checkpoint_epoch(const std::string& model_path) { return FprCard::from_json(read_card_text(model_path), model_path).epoch; }

std::vector<FprEpochMetrics> read_fpr_metrics(const std::string& run_dir) { return read_metrics((fs::path(run_dir) / "metrics.csv").string()); }

FprEpochMetrics fpr_metrics_of(const std::string& run_dir, int epoch) {
    for (const auto& m : read_metrics((fs::path(run_dir) / "metrics.csv").string()))
        if (m.epoch == epoch) return m;
    fail(run_dir, "no metrics for epoch " + std::to_string(epoch));
}

FprTrainOptions fpr_resume_options(const std::string& run_dir) {
    const std::string path = (fs::path(run_dir) / "config.json").string();
    std::error_code ec;
    if (!fs::exists(path, ec)) fail(run_dir, "not a train-fpr run folder (no config.json)");
    FprTrainOptions o;
    try {
        const auto j = nlohmann::json::parse(read_file(path));
        o.set.data_dir = j.at("data").get<std::string>();
        o.set.candidates = j.at("candidates").get<std::string>();
        o.set.annotations = j.at("annotations").get<std::string>();
        o.set.excluded = j.at("excluded").get<std::string>();
        o.set.add_annotations = j.at("add_annotations").get<bool>();
        o.set.val_fraction = j.at("val_fraction").get<double>();
        o.set.val_subsets = j.at("val_subsets").get<std::vector<int>>();
        o.set.seed = j.at("seed").get<std::uint64_t>();
        o.epochs = j.at("epochs").get<int>();
        o.batch = j.at("batch").get<int>();
        o.lr = j.at("lr").get<double>();
        o.lr_schedule = j.value("lr_schedule", std::string("constant"));
        o.symmetries = j.value("symmetries", 1);
        o.positive_ratio = j.at("positive_ratio").get<double>();
        o.augment = j.at("augment").get<bool>();
        o.max_samples_per_epoch = j.at("max_samples_per_epoch").get<std::int64_t>();
    } catch (const nlohmann::json::exception& e) {
        fail(path, std::string("not a train-fpr configuration: ") + e.what());
    }
    o.set.out_dir = run_dir;
    o.resume = true;
    return o;
}

}  // namespace nodulecad
