#include "nodulecad/model/speed_bench.hpp"

#include <cmath>
#include <functional>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/stopwatch.hpp"
#include "nodulecad/model/detector3d.hpp"
#include "nodulecad/model/losses.hpp"
#include "nodulecad/model/run_mode.hpp"
#include "nodulecad/model/unet.hpp"

namespace nodulecad {

void BenchOptions::check() const {
    require_positive("size", size);
    require_positive("batch", batch);
    require_positive("iterations", iterations);
    require_non_negative("warmup", warmup);
    int depth = 0;
    if (network == BenchNetwork::UNet2d) {
        unet.check();
        depth = unet.depth;
    } else {
        detector3d.check();
        depth = detector3d.depth;
        if (aten_upsample) throw OptionError("aten-upsample", "is for the U-Net's 2D upsampling, not the 3D detector");
    }
    const int step = 1 << (depth - 1);
    if (size % step != 0) throw OptionError("size", "must be divisible by 2^(depth-1) = " + std::to_string(step) + ", got " + std::to_string(size));
}

namespace {

// Seconds for o.iterations calls of `step` after o.warmup untimed ones, the device's queue drained at both ends.
double time_steps(const BenchOptions& o, const torch::Device& device, const std::function<void()>& step) {
    for (int i = 0; i < o.warmup; ++i) step();
    if (device.is_cuda()) torch::cuda::synchronize();
    const Stopwatch watch;
    for (int i = 0; i < o.iterations; ++i) step();
    if (device.is_cuda()) torch::cuda::synchronize();
    return watch.seconds();
}

// o.mode's step timed: forward, loss, backward and an Adam step in training mode, or a forward pass without
// gradients in eval mode.
double time_mode(const BenchOptions& o, const torch::Device& device, torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                 const std::function<torch::Tensor()>& forward, const std::function<torch::Tensor(const torch::Tensor&)>& loss) {
    return time_steps(o, device, [&] {
        if (o.mode == BenchMode::Train) {
            model.train();
            const torch::Tensor l = loss(forward());
            optimizer.zero_grad();
            l.backward();
            optimizer.step();
        } else {
            torch::NoGradGuard no_grad;
            model.eval();
            (void)forward().sum().item<float>();
        }
    });
}

double bench_unet(const BenchOptions& o, const torch::Device& device, const RunMode& mode) {
    UNet model(o.unet);
    model->use_aten_upsample(o.aten_upsample);
    model->to(device);
    apply_memory_format(*model, mode);
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-5));
    const auto on = torch::TensorOptions().device(device);
    const torch::Tensor x = as_input(torch::rand({o.batch, o.unet.in_channels, o.size, o.size}, on), mode);
    const torch::Tensor y = (torch::rand({o.batch, 1, o.size, o.size}, on) > 0.99).to(torch::kFloat);
    return time_mode(o, device, *model, optimizer, [&] { return forward_float(model, x, mode); },
                     [&](const torch::Tensor& p) { return -soft_dice(p, y); });
}

// The 3D detector as its trainer runs it: the forward pass under the run's autocast (forward_float leaves a 5-D
// input's layout as it is), the loss on the float output against a Gaussian-free target with a few centre voxels
// (the loss's cost does not depend on where they are).
double bench_detector3d(const BenchOptions& o, const torch::Device& device, const RunMode& mode) {
    Detector3d model(o.detector3d);
    model->to(device);
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
    const auto on = torch::TensorOptions().device(device);
    const std::int64_t s = o.size;
    const torch::Tensor x = torch::rand({o.batch, o.detector3d.in_channels, s, s, s}, on);
    const torch::Tensor heat = (torch::rand({o.batch, 1, s, s, s}, on) > 0.9999).to(torch::kFloat);
    const torch::Tensor log_d = torch::full({o.batch, 1, s, s, s}, std::log(6.0), on);
    return time_mode(o, device, *model, optimizer, [&] { return forward_float(model, x, mode); },
                     [&](const torch::Tensor& p) { return detector3d_loss(p, heat, log_d); });
}

}  // namespace

BenchResult bench_network(const BenchOptions& o) {
    o.check();
    const torch::Device device = pick_device(o.device);
    if (o.amp && !device.is_cuda()) throw OptionError("amp", "is bf16 autocast, for CUDA devices; this run is on " + device.str());
    torch::manual_seed(0);
    const RunMode mode = run_mode(device, o.amp);
    set_cudnn_autotune(device, ShapeRegime::Fixed);
    const double s = o.network == BenchNetwork::UNet2d ? bench_unet(o, device, mode) : bench_detector3d(o, device, mode);
    BenchResult r;
    r.images_per_second = o.iterations * o.batch / s;
    r.seconds_per_image = s / (o.iterations * o.batch);
    const bool channels_last = mode.channels_last && o.network == BenchNetwork::UNet2d;
    r.device = device.str() + (mode.bf16_autocast ? ", bf16 autocast" : "") + (channels_last ? ", channels-last" : "") +
               (o.aten_upsample ? ", aten upsampling" : "");
    return r;
}

}  // namespace nodulecad
