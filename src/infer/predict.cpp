#include "nodulecad/infer/predict.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <variant>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/progress.hpp"
#include "nodulecad/core/stopwatch.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/io/cohort_layout.hpp"
#include "nodulecad/io/image_file.hpp"
#include "nodulecad/model/device.hpp"
#include "nodulecad/model/run_mode.hpp"
#include "nodulecad/model/unet.hpp"
#include "nodulecad/preprocess/lung_segmentation.hpp"
#include "nodulecad/preprocess/slice_grid.hpp"

namespace nodulecad {

namespace fs = std::filesystem;

namespace {

// The network as inference runs it: weights on the device, eval mode, the device's run mode, the card's
// preprocessing.
struct Predictor {
    ModelCard card;
    UNet model{nullptr};
    torch::Device device = torch::kCPU;
    RunMode mode;
    int batch = 1;

    WindowOptions window() const { return {card.window_lo, card.window_hi, card.context, card.mask_lungs}; }
};

Predictor load_predictor(const PredictOptions& o) {
    Predictor p;
    p.device = pick_device(o.device);
    // One slice at a time is the fastest on a CPU (4.5 s per demo scan with 4, 3.7 s with 1, identical outputs: the
    // activations of one slice stay in cache); a GPU wants many.
    p.batch = o.batch > 0 ? o.batch : p.device.is_cuda() ? 16 : 1;
    p.model = load_checkpoint(o.model, p.card, p.device);
    p.model->eval();
    p.mode = run_mode(p.device, o.amp);
    set_cudnn_autotune(p.device, ShapeRegime::Varying);
    apply_memory_format(*p.model, p.mode);
    return p;
}

// The slices to run: every slice, or (lungs_only) those within 2 of a slice holding a lung voxel.
std::vector<std::int64_t> slices_to_run(const Volume<std::uint8_t>& lungs, bool lungs_only) {
    const Geometry& g = lungs.geometry;
    const std::int64_t nz = g.size[2];
    const std::size_t plane = static_cast<std::size_t>(g.size[0] * g.size[1]);
    std::vector<bool> has(static_cast<std::size_t>(nz), !lungs_only);
    if (lungs_only)
        for (std::int64_t k = 0; k < nz; ++k) {
            const auto first = lungs.voxels.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(k) * plane);
            has[static_cast<std::size_t>(k)] = std::any_of(first, first + static_cast<std::ptrdiff_t>(plane), [](std::uint8_t v) { return v != 0; });
        }
    std::vector<std::int64_t> todo;
    for (std::int64_t k = 0; k < nz; ++k) {
        bool near = false;
        for (std::int64_t d = -2; d <= 2 && !near; ++d) near = k + d >= 0 && k + d < nz && has[static_cast<std::size_t>(k + d)];
        if (near) todo.push_back(k);
    }
    return todo;
}

// The probability volume being filled, slice by slice: float probabilities (--float), or p * 255 as uint8 (a quarter
// of the memory). Only the kind that is written is kept.
class ProbabilityVolume {
public:
    ProbabilityVolume(const Geometry& g, bool float_output) : float_(float_output) {
        if (float_) prob_ = Volume<float>(g, 0.f);
        else quantised_ = Volume<std::uint8_t>(g, 0);
    }
    // Slice k from the network's output on `grid` (S x S), mapped back onto the scan grid. Thread-safe per slice.
    void put(std::int64_t k, const float* on_grid, const SliceGrid& grid, const Geometry& g) {
        const std::size_t plane = static_cast<std::size_t>(g.size[0] * g.size[1]), off = static_cast<std::size_t>(k) * plane;
        if (float_) {
            unsample_slice(on_grid, grid, g, k, prob_.voxels.data() + off);
            return;
        }
        std::vector<float> slice(plane);
        unsample_slice(on_grid, grid, g, k, slice.data());
        for (std::size_t i = 0; i < plane; ++i)
            quantised_.voxels[off + i] = static_cast<std::uint8_t>(std::lround(std::clamp(slice[i], 0.f, 1.f) * 255));
    }
    AnyVolume release() {
        if (float_) return std::move(prob_);
        return std::move(quantised_);
    }

private:
    bool float_;
    Volume<float> prob_;
    Volume<std::uint8_t> quantised_;
};

// Slices todo[t0, t0 + n) of the scan resampled to the grid, windowed and normalised: one batch's input, filled on
// `threads` workers (each writes its own slice).
void batch_input(const Predictor& p, const Volume<std::int16_t>& scan, const Volume<std::uint8_t>& lungs, const SliceGrid& grid,
                 const std::vector<std::int64_t>& todo, std::size_t t0, std::int64_t n, int threads, std::vector<float>& input) {
    const std::int64_t S = grid.size, pixels = p.card.unet.in_channels * S * S;
    const auto mean = static_cast<float>(p.card.mean), inv_std = static_cast<float>(1 / p.card.std);
    const WindowOptions window = p.window();
    input.resize(static_cast<std::size_t>(n * pixels));
    parallel_for(n, threads, [&](std::int64_t b) {
        float* x = input.data() + static_cast<std::size_t>(b * pixels);
        sample_image(scan, &lungs, grid, todo[t0 + static_cast<std::size_t>(b)], window, x);
        for (std::int64_t i = 0; i < pixels; ++i) x[i] = (x[i] - mean) * inv_std;
    });
}

// The network on one batch's input, on the device. On a GPU it returns once the work is queued (the input is on
// the device by then, so `input` may be refilled); the probabilities come back with to(kCPU).
torch::Tensor batch_forward(const Predictor& p, const std::vector<float>& input, std::int64_t n, std::int64_t S) {
    torch::NoGradGuard no_grad;  // per thread: CPU workers each need their own
    UNet model = p.model;
    const std::int64_t C = p.card.unet.in_channels;
    auto x = torch::from_blob(const_cast<float*>(input.data()), {n, C, S, S}).to(p.device);
    return forward_float(model, x, p.mode);
}

// The batch's probabilities back onto the scan grid, on `threads` workers (each writes its own slice).
void batch_output(const torch::Tensor& prob, const SliceGrid& grid, const Volume<std::int16_t>& scan, const std::vector<std::int64_t>& todo,
                  std::size_t t0, std::int64_t n, int threads, ProbabilityVolume& out) {
    const std::int64_t S = grid.size;
    const float* pv = prob.data_ptr<float>();
    parallel_for(n, threads, [&](std::int64_t b) { out.put(todo[t0 + static_cast<std::size_t>(b)], pv + b * S * S, grid, scan.geometry); });
}

// Runs the network on `todo` slices of the scan, `batch` at a time. On a CPU, `threads` workers each take whole
// batches and run them with one compute thread: one slice's small convolutions split over two threads leave both
// waiting (771 slices of 5 scans, 2 cores: 46.9 s on one worker of 2 threads, 38.4 s on two workers of 1; the
// same bytes, as every slice's output is its own). A GPU gets one feeder, its batches resampled on `threads`
// workers, and the next batch's input is made while the device runs the current one (on a CPU that order changes
// nothing). Returns the seconds spent in the network (on a GPU: queueing it and waiting for its output; with CPU
// workers, their seconds divided by the workers).
double predict_slices(const Predictor& p, const Volume<std::int16_t>& scan, const Volume<std::uint8_t>& lungs, const SliceGrid& grid,
                      const std::vector<std::int64_t>& todo, int threads, ProbabilityVolume& out) {
    const auto batch = static_cast<std::size_t>(p.batch);
    const auto batches = static_cast<std::int64_t>((todo.size() + batch - 1) / batch);
    const auto size_of = [&](std::size_t t0) { return static_cast<std::int64_t>(std::min(batch, todo.size() - t0)); };
    if (p.device.is_cpu() && threads > 1 && batches > 1) {
        const ComputeThreadsScope one(1);
        std::vector<double> seconds(static_cast<std::size_t>(batches), 0.0);
        parallel_for(batches, threads, [&](std::int64_t i) {
            const std::size_t t0 = static_cast<std::size_t>(i) * batch;
            std::vector<float> input;
            batch_input(p, scan, lungs, grid, todo, t0, size_of(t0), 1, input);
            const Stopwatch network;
            const torch::Tensor prob = batch_forward(p, input, size_of(t0), grid.size).contiguous();
            seconds[static_cast<std::size_t>(i)] = network.seconds();
            batch_output(prob, grid, scan, todo, t0, size_of(t0), 1, out);
        });
        double sum = 0;
        for (const double s : seconds) sum += s;
        return sum / std::min<double>(threads, static_cast<double>(batches));
    }
    double network = 0;
    std::vector<float> input;
    if (!todo.empty()) batch_input(p, scan, lungs, grid, todo, 0, size_of(0), threads, input);
    for (std::size_t t0 = 0; t0 < todo.size(); t0 += batch) {
        Stopwatch watch;
        const torch::Tensor queued = batch_forward(p, input, size_of(t0), grid.size);
        network += watch.seconds();
        if (t0 + batch < todo.size()) batch_input(p, scan, lungs, grid, todo, t0 + batch, size_of(t0 + batch), threads, input);
        watch.restart();
        const torch::Tensor prob = queued.to(torch::kCPU).contiguous();
        network += watch.seconds();
        batch_output(prob, grid, scan, todo, t0, size_of(t0), threads, out);
    }
    return network;
}

}  // namespace

struct ScanPredictor::Impl {
    Predictor p;
    PredictOptions o;
    double network_seconds = 0;
};

ScanPredictor::ScanPredictor(const PredictOptions& o) {
    if (o.batch < 0) throw Error("batch must be >= 0 (0: automatic), got " + std::to_string(o.batch));
    impl_ = std::make_unique<Impl>(Impl{load_predictor(o), o, 0.0});
}

ScanPredictor::~ScanPredictor() = default;

double ScanPredictor::network_seconds() const { return impl_->network_seconds; }

// The grid fitted to the lungs, the slices near them, the network, back onto the scan grid.
AnyVolume ScanPredictor::predict(const Volume<std::int16_t>& scan, const Volume<std::uint8_t>& lungs, std::int64_t* slices) const {
    const Predictor& p = impl_->p;
    const PredictOptions& o = impl_->o;
    if (!same_grid(lungs.geometry, scan.geometry)) throw Error("the lung mask is not on the scan's grid");
    const SliceGrid grid = o.lungs_only ? grid_fitted(lungs, p.card.pixel_mm, 1 << (p.card.unet.depth - 1), 10.0)
                                        : grid_around(lungs, p.card.size, p.card.pixel_mm);
    const std::vector<std::int64_t> todo = slices_to_run(lungs, o.lungs_only);
    ProbabilityVolume prob(scan.geometry, o.float_output);
    impl_->network_seconds += predict_slices(p, scan, lungs, grid, todo, o.threads, prob);
    if (slices) *slices = static_cast<std::int64_t>(todo.size());
    return prob.release();
}

PredictSummary predict_scans(const PredictOptions& o) {
    const ScanPredictor predictor(o);
    std::vector<ScanFile> scans;
    {
        std::vector<ScanFile> all = find_scans(o.data);
        for (std::size_t i = 0; i < all.size(); ++i)
            if (o.shard.holds(i)) scans.push_back(std::move(all[i]));
    }
    fs::create_directories(o.out_dir);
    PredictSummary sum;
    Progress progress(o.shard.all() ? "predict" : "predict shard " + o.shard.describe(), static_cast<std::int64_t>(scans.size()), "scans");
    for (const ScanFile& file : scans) {
        const std::string out = (fs::path(o.out_dir) / image_file_name(file.uid + "_prob", o.format)).string();
        std::error_code ec;
        if (o.skip_existing && fs::exists(out, ec)) {
            ++sum.skipped;
        } else {
            const Volume<std::int16_t> scan = read_scan(file);
            LungSegmentationOptions lo;
            lo.threads = o.threads;
            std::int64_t slices = 0;
            const AnyVolume prob = predictor.predict(scan, segment_lungs_robust(scan, lo).mask, &slices);
            write_any_image(out, prob);
            sum.slices += slices;
            ++sum.scans;
        }
        sum.uids.push_back(file.uid);
        sum.outputs.push_back(out);
        progress.advance();
    }
    return sum;
}

}  // namespace nodulecad
