#include "nodulecad/train/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/core/folder_lock.hpp"
#include "nodulecad/core/prefetch.hpp"
#include "nodulecad/core/progress.hpp"
#include "nodulecad/core/random.hpp"
#include "nodulecad/core/stopwatch.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/model/checkpoint.hpp"
#include "nodulecad/model/run_mode.hpp"
#include "nodulecad/model/unet.hpp"
#include "nodulecad/train/rank_group.hpp"

namespace nodulecad {

namespace fs = std::filesystem;

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

LossTerms TrainingVariant::step_loss(const torch::Tensor& output, const torch::Tensor& target, const StepShare& share) {
    if (share.local == 0) return {torch::zeros({}, output.options()), {}, {}};
    LossTerms t = loss(output, target);
    const double f = share.fraction();
    t.loss = t.loss * f;
    for (auto& s : t.shown) s = s * f;
    return t;
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
// differently), up to the checkpoint's epoch; none for a fresh run (whatever an earlier run left is replaced).
MetricsTable history(const RunFolder& run, const std::vector<std::string>& columns, bool resume, int last_epoch) {
    MetricsTable t;
    t.columns = columns;
    if (!resume) return t;
    MetricsTable old = read_metrics_table(run.metrics());
    old.keep_epochs_up_to(last_epoch);
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

// This rank's samples of step s, [first, first + count): the step's batch x ranks samples in rank order, so the
// ranks' parts of every step together are one process's batch of batch x ranks.
struct StepPart {
    std::int64_t first = 0, count = 0, total = 0;
};
StepPart step_part(std::int64_t samples, std::int64_t batch, int ranks, int rank, std::size_t step) {
    const std::int64_t whole = batch * ranks, start = static_cast<std::int64_t>(step) * whole;
    StepPart p;
    p.total = std::min(whole, samples - start);
    p.first = start + batch * rank;
    p.count = std::clamp<std::int64_t>(samples - p.first, 0, batch);
    return p;
}

// The gradients of every parameter summed over the ranks (a parameter without one counts as zeros).
void sum_gradients(torch::nn::Module& net, RankGroup& group) {
    std::vector<torch::Tensor> grads;
    for (auto& p : net.parameters()) {
        if (!p.requires_grad()) continue;
        if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
        grads.push_back(p.grad());
    }
    group.sum(grads);
}

// One pass over the epoch's batches: forward, loss, backward, Adam step. Running sums stay on the device: reading
// one waits for the GPU, so on CUDA the bar is updated every 16 batches only and the launch queue stays full.
// With several ranks each takes its part of every step (step_part), the gradients are summed before Adam's step,
// and the epoch's sums are summed at its end.
EpochTotals train_epoch(TrainingVariant& v, torch::nn::Module& net, torch::optim::Optimizer& optimizer, const Forward& forward,
                        const torch::Device& device, int epoch, int epochs, int loaders, std::int64_t batch, RankGroup* group) {
    const EpochBatches batches = v.epoch_batches(epoch);
    const int ranks = group ? group->size() : 1, rank = group ? group->rank() : 0;
    const std::size_t steps = batches.batch_count(batch * ranks);
    const std::vector<std::string> names = v.train_columns();
    const auto sum_options = torch::TensorOptions().dtype(torch::kDouble).device(device);
    torch::Tensor loss_sum = torch::zeros({}, sum_options);
    std::vector<torch::Tensor> shown_sums(names.size());
    for (auto& t : shown_sums) t = torch::zeros({}, sum_options);
    std::int64_t seen = 0, steps_done = 0;
    const auto means = [&] {
        std::vector<double> m;
        for (const auto& t : shown_sums) m.push_back(t.item<double>() / static_cast<double>(std::max<std::int64_t>(1, seen)));
        return m;
    };
    StepShare share;
    if (group)
        share.sum = [group](const torch::Tensor& t) {
            torch::Tensor s = t.detach().clone();
            group->sum({s});
            return s;
        };
    {
        Progress bar("train epoch " + std::to_string(epoch) + "/" + std::to_string(epochs), batches.samples, "samples");
        const auto make = [&](std::size_t s) {
            const StepPart p = step_part(batches.samples, batch, ranks, rank, s);
            return p.count > 0 ? batches.make(p.first, p.count) : Batch{};
        };
        OrderedPrefetcher<Batch> queue(steps, loaders, 2 * static_cast<std::size_t>(std::max(1, loaders)), make);
        Batch b;
        while (queue.next(b)) {
            const StepPart part = step_part(batches.samples, batch, ranks, rank, static_cast<std::size_t>(steps_done));
            LossTerms terms;
            optimizer.zero_grad();
            if (!group) {
                const torch::Tensor x = to_device(b.x, b.x_shape, device), y = to_device(b.y, b.y_shape, device);
                terms = v.loss(forward(x), y);
                terms.loss.backward();
            } else {
                share.local = part.count;
                share.total = part.total;
                if (part.count > 0) {
                    const torch::Tensor x = to_device(b.x, b.x_shape, device), y = to_device(b.y, b.y_shape, device);
                    terms = v.step_loss(forward(x), y, share);
                    terms.loss.backward();
                } else {
                    const torch::Tensor none = torch::zeros({0}, torch::TensorOptions().device(device));
                    terms = v.step_loss(none, none, share);
                }
                sum_gradients(net, *group);
            }
            optimizer.step();
            // Per sample: in one process the batch's mean times its size; a rank's share times the step's size.
            const auto n = group ? part.total : b.size();
            const torch::Tensor value = terms.value.defined() ? terms.value : terms.loss;
            if (value.defined()) loss_sum += value.detach().to(torch::kDouble) * static_cast<double>(n);
            for (std::size_t i = 0; i < shown_sums.size() && i < terms.shown.size(); ++i)
                if (terms.shown[i].defined()) shown_sums[i] += terms.shown[i].detach().to(torch::kDouble) * static_cast<double>(n);
            seen += part.count;
            ++steps_done;
            // A rank's share times the step's size is its own samples' part: the bar shows this rank's running means.
            if (!device.is_cuda() || steps_done % 16 == 0)
                bar.set_status(status_line(loss_sum.item<double>() / static_cast<double>(std::max<std::int64_t>(1, seen)), names, means()));
            bar.advance(group ? part.total : part.count);
        }
    }
    if (group) {
        // The epoch's sums over the ranks: each rank's shares of each step add up to the step's values.
        std::vector<torch::Tensor> sums{loss_sum};
        for (auto& t : shown_sums) sums.push_back(t);
        group->sum(sums);
        seen = batches.samples;
    }
    EpochTotals t;
    t.samples = seen;
    t.loss = loss_sum.item<double>() / static_cast<double>(std::max<std::int64_t>(1, seen));
    t.shown = means();
    return t;
}

}  // namespace

std::unique_ptr<RankGroup> join_ranks(const TrainerOptions& o) {
    o.check();
    if (!o.world.distributed()) return nullptr;
    return std::make_unique<RankGroup>(o.world, std::chrono::seconds(o.dist_timeout_s));
}

std::vector<EpochRecord> run_training(TrainingVariant& v, const TrainerOptions& o, RankGroup* joined) {
    o.check();
    torch::Device device = pick_device(o.device);
    // Several ranks: each on its own GPU of the machine (cuda:LOCAL_RANK) unless --device named one.
    if (o.world.distributed() && device.is_cuda() && o.device.find(':') == std::string::npos)
        device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(o.world.local_rank));
    std::unique_ptr<RankGroup> own;
    if (!joined) own = join_ranks(o);
    RankGroup* ranks = joined ? joined : own.get();
    const bool writer = !ranks || ranks->rank() == 0;
    v.writes_files = writer;
    const RunFolder run{o.run_dir};
    std::error_code ec;
    if (writer) fs::create_directories(o.run_dir, ec);
    if (ec) fail(o.run_dir, "cannot create the run folder: " + ec.message());
    std::optional<FolderLock> folder_lock;  // the writer's: a second run into the same folder is refused at once
    if (writer) folder_lock.emplace(o.run_dir, "training");
    if (writer) remove_stale_temporaries(o.run_dir);  // what a killed run left mid-write

    RunProgress progress;
    torch::nn::Module* net = nullptr;
    if (o.resume) {
        net = &v.load(run.last(), device, progress);
    } else {
        // Torch's default generator is one per process: ranks run as threads of one process (the tests) must not
        // interleave their draws, or rank 0's network is not the one its seed gives.
        static std::mutex generator;
        const std::lock_guard<std::mutex> lock(generator);
        torch::manual_seed(o.seed);
        net = &v.build(device);
    }
    const RunMode mode = run_mode(device, o.amp);
    set_cudnn_autotune(device, ShapeRegime::Fixed);
    apply_memory_format(*net, mode);
    // Every rank starts from rank 0's weights and buffers (the same seed makes them equal already; this makes sure).
    if (ranks) {
        std::vector<torch::Tensor> state;
        for (const auto& p : net->parameters()) state.push_back(p);
        for (const auto& b : net->buffers()) state.push_back(b);
        torch::NoGradGuard no_grad;
        ranks->broadcast_from_first(state);
    }
    torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(o.lr));
    if (o.resume) load_optimizer_state(run.last(), optimizer);
    const int loaders = loader_threads_for(o.loader_threads, device);
    if (writer) write_config(run, v, o, device, mode, loaders);
    MetricsTable table = history(run, metrics_columns(v), o.resume, progress.epoch);

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
        const Stopwatch watch;
        // Dropout and anything else drawn from torch's generator: seeded from (seed, epoch), so an epoch run again
        // after a resume draws the same.
        torch::manual_seed(mix64(o.seed ^ (0xD50ULL + static_cast<std::uint64_t>(epoch))));
        for (auto& group : optimizer.param_groups())
            static_cast<torch::optim::AdamOptions&>(group.options()).lr(scheduled_lr(o.lr, o.lr_schedule, epoch, o.epochs));
        net->train();
        const EpochTotals totals = train_epoch(v, *net, optimizer, forward, device, epoch, o.epochs, loaders, o.batch, ranks);
        Validation val;
        const bool validated = epoch == o.epochs || (epoch >= o.validate_from && epoch % o.validate_every == 0);
        {
            torch::NoGradGuard no_grad;
            // Batch norm's running statistics are updated by each rank from its own samples: rank 0's, as its
            // checkpoint holds them, into every rank (DDP broadcasts them too), so all ranks validate one network.
            if (ranks) ranks->broadcast_from_first(net->buffers());
            net->eval();
            v.after_epoch(epoch, forward);
            if (validated) val = v.validate(epoch, forward);
        }
        const double seconds = watch.seconds();

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
        std::vector<double> row;
        for (const auto& [k, value] : rec.values) row.push_back(value);
        table.rows.push_back(std::move(row));
        // last.pt is the epoch's commit point, so it is written last: a signal ends the process at once, and one
        // landing between these writes must leave metrics.csv with a row for every epoch the checkpoint holds
        // (a resume drops rows past the checkpoint's epoch and runs them again; a missing row never comes back).
        if (writer) {
            write_metrics_table(run.metrics(), table);
            if (improved) v.save(run.best(), progress, nullptr);
            v.save(run.last(), progress, &optimizer);
        }
        records.push_back(std::move(rec));
    }
    // No rank leaves before rank 0 has written the last epoch's files.
    if (ranks) ranks->barrier();
    return records;
}

}  // namespace nodulecad
