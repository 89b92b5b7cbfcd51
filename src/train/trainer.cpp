#include "nodulecad/train/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/core/prefetch.hpp"
#include "nodulecad/core/progress.hpp"
#include "nodulecad/core/random.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/model/checkpoint.hpp"
#include "nodulecad/model/run_mode.hpp"
#include "nodulecad/model/unet.hpp"

namespace nodulecad {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double EpochRecord::get(const std::string& name) const {
    for (const auto& [k, v] : values)
        if (k == name) return v;
    return std::numeric_limits<double>::quiet_NaN();
}

torch::Tensor to_device(std::vector<float>& data, const std::vector<std::int64_t>& shape, const torch::Device& device) {
    const torch::Tensor host = torch::from_blob(data.data(), shape);
    if (!device.is_cuda()) return host.to(device);
    return host.pin_memory().to(device, /*non_blocking=*/true);
}

nlohmann::ordered_json card_without_progress(const std::string& card_json, const char* best_key) {
    nlohmann::ordered_json card = nlohmann::ordered_json::parse(card_json);
    card.erase("epoch");
    card.erase(best_key);
    return card;
}

int loader_threads_for(int requested, const torch::Device& device) {
    if (requested > 0) return requested;
    return device.is_cuda() ? std::clamp(default_thread_count() - 2, 1, 8) : 1;
}

namespace {

std::vector<std::string> metrics_columns(const TrainingVariant& v) {
    std::vector<std::string> c{"epoch", "train_loss"};
    for (const auto& n : v.train_columns()) c.push_back(n);
    for (const auto& n : v.validation_columns()) c.push_back(n);
    c.push_back("samples_per_s");
    c.push_back("seconds");
    return c;
}

// The earlier epochs of a resumed run, in this run's columns (matched by name: an older file may order them
// differently), up to the checkpoint's epoch.
MetricsTable history(const RunFolder& run, const std::vector<std::string>& columns, int last_epoch) {
    MetricsTable old = read_metrics_table(run.metrics());
    old.keep_epochs_up_to(last_epoch);
    MetricsTable t;
    t.columns = columns;
    for (std::size_t r = 0; r < old.rows.size(); ++r) {
        std::vector<double> row;
        for (const auto& c : columns) row.push_back(old.value(r, c));
        t.rows.push_back(std::move(row));
    }
    return t;
}

void write_config(const RunFolder& run, const TrainingVariant& v, const TrainerOptions& o, const torch::Device& device, const RunMode& mode,
                  int loaders) {
    nlohmann::ordered_json cfg = v.describe();
    cfg["trainer"] = nlohmann::json(o);
    cfg["device"] = device.str();
    cfg["bf16_autocast"] = mode.bf16_autocast;
    cfg["loader_threads"] = loaders;
    write_file_atomically(run.config(), cfg.dump(1) + "\n");
}

// "loss 0.1234 dice 0.5678": the running means, train_ prefixes dropped.
std::string status_line(double loss, const std::vector<std::string>& names, const std::vector<double>& shown) {
    std::string s;
    char buf[64];
    std::snprintf(buf, sizeof buf, "loss %.4f", loss);
    s += buf;
    for (std::size_t i = 0; i < names.size() && i < shown.size(); ++i) {
        const std::string name = names[i].rfind("train_", 0) == 0 ? names[i].substr(6) : names[i];
        std::snprintf(buf, sizeof buf, " %s %.4f", name.c_str(), shown[i]);
        s += buf;
    }
    return s;
}

struct EpochTotals {
    double loss = 0;
    std::vector<double> shown;
    std::int64_t samples = 0;
};

// One pass over the epoch's batches: forward, loss, backward, Adam step. Running sums stay on the device: reading
// one waits for the GPU, so on CUDA the bar is updated every 16 batches only and the launch queue stays full.
EpochTotals train_epoch(TrainingVariant& v, torch::optim::Optimizer& optimizer, const Forward& forward, const torch::Device& device,
                        int epoch, int epochs, int loaders) {
    const EpochBatches batches = v.epoch_batches(epoch);
    const std::vector<std::string> names = v.train_columns();
    const auto sum_options = torch::TensorOptions().dtype(torch::kDouble).device(device);
    torch::Tensor loss_sum = torch::zeros({}, sum_options);
    std::vector<torch::Tensor> shown_sums(names.size());
    for (auto& t : shown_sums) t = torch::zeros({}, sum_options);
    std::int64_t seen = 0, steps = 0;
    const auto means = [&] {
        std::vector<double> m;
        for (const auto& t : shown_sums) m.push_back(t.item<double>() / static_cast<double>(std::max<std::int64_t>(1, seen)));
        return m;
    };
    {
        Progress bar("train epoch " + std::to_string(epoch) + "/" + std::to_string(epochs), batches.samples, "samples");
        OrderedPrefetcher<Batch> queue(batches.count, loaders, 2 * static_cast<std::size_t>(std::max(1, loaders)), batches.make);
        Batch b;
        while (queue.next(b)) {
            const torch::Tensor x = to_device(b.x, b.x_shape, device), y = to_device(b.y, b.y_shape, device);
            const LossTerms terms = v.loss(forward(x), y);
            optimizer.zero_grad();
            terms.loss.backward();
            optimizer.step();
            const auto n = b.size();
            loss_sum += terms.loss.detach().to(torch::kDouble) * static_cast<double>(n);
            for (std::size_t i = 0; i < shown_sums.size() && i < terms.shown.size(); ++i)
                shown_sums[i] += terms.shown[i].detach().to(torch::kDouble) * static_cast<double>(n);
            seen += n;
            ++steps;
            if (!device.is_cuda() || steps % 16 == 0)
                bar.set_status(status_line(loss_sum.item<double>() / static_cast<double>(seen), names, means()));
            bar.advance(n);
        }
    }
    EpochTotals t;
    t.samples = seen;
    t.loss = loss_sum.item<double>() / static_cast<double>(std::max<std::int64_t>(1, seen));
    t.shown = means();
    return t;
}

}  // namespace

std::vector<EpochRecord> run_training(TrainingVariant& v, const TrainerOptions& o) {
    o.check();
    const torch::Device device = pick_device(o.device);
    const RunFolder run{o.run_dir};
    std::error_code ec;
    fs::create_directories(o.run_dir, ec);
    if (ec) fail(o.run_dir, "cannot create the run folder: " + ec.message());

    RunProgress progress;
    torch::nn::Module* net = nullptr;
    if (o.resume) {
        net = &v.load(run.last(), device, progress);
    } else {
        torch::manual_seed(o.seed);
        net = &v.build(device);
    }
    const RunMode mode = run_mode(device, o.amp);
    enable_cudnn_autotune(device);
    apply_memory_format(*net, mode);
    torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(o.lr));
    if (o.resume) load_optimizer_state(run.last(), optimizer);
    const int loaders = loader_threads_for(o.loader_threads, device);
    write_config(run, v, o, device, mode, loaders);
    MetricsTable table = history(run, metrics_columns(v), o.resume ? progress.epoch : 0);

    const Forward forward = [&](const torch::Tensor& x) {
        torch::Tensor p;
        {
            AutocastScope autocast(mode);
            p = v.forward(as_input(x, mode));
        }
        return p.to(torch::kFloat);
    };
    std::vector<EpochRecord> records;
    for (int epoch = progress.epoch + 1; epoch <= o.epochs; ++epoch) {
        const auto t0 = Clock::now();
        // Dropout and anything else drawn from torch's generator: seeded from (seed, epoch), so an epoch run again
        // after a resume draws the same.
        torch::manual_seed(mix64(o.seed ^ (0xD50ULL + static_cast<std::uint64_t>(epoch))));
        for (auto& group : optimizer.param_groups())
            static_cast<torch::optim::AdamOptions&>(group.options()).lr(scheduled_lr(o.lr, o.lr_schedule, epoch, o.epochs));
        net->train();
        const EpochTotals totals = train_epoch(v, optimizer, forward, device, epoch, o.epochs, loaders);
        Validation val;
        const bool validated = epoch % o.validate_every == 0 || epoch == o.epochs;
        {
            torch::NoGradGuard no_grad;
            net->eval();
            v.after_epoch(epoch, forward);
            if (validated) val = v.validate(epoch, forward);
        }
        const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();

        EpochRecord rec;
        rec.values.emplace_back("epoch", epoch);
        rec.values.emplace_back("train_loss", totals.loss);
        const auto train_names = v.train_columns(), val_names = v.validation_columns();
        for (std::size_t i = 0; i < train_names.size(); ++i) rec.values.emplace_back(train_names[i], i < totals.shown.size() ? totals.shown[i] : NAN);
        for (std::size_t i = 0; i < val_names.size(); ++i) rec.values.emplace_back(val_names[i], i < val.values.size() ? val.values[i] : NAN);
        rec.values.emplace_back("samples_per_s", static_cast<double>(totals.samples) / std::max(1e-9, seconds));
        rec.values.emplace_back("seconds", seconds);

        progress.epoch = epoch;
        const bool improved =
            o.keep == KeepWeights::Final || (validated && (!val.choosable || std::isnan(val.score) || val.score > progress.best_score));
        if (improved && !std::isnan(val.score)) progress.best_score = val.score;
        v.save(run.last(), progress, &optimizer);
        if (improved) v.save(run.best(), progress, nullptr);
        std::vector<double> row;
        for (const auto& [k, value] : rec.values) row.push_back(value);
        table.rows.push_back(std::move(row));
        write_metrics_table(run.metrics(), table);
        records.push_back(std::move(rec));
    }
    return records;
}

}  // namespace nodulecad
