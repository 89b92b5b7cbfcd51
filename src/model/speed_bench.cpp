#include "nodulecad/model/speed_bench.hpp"

#include <chrono>

#include "nodulecad/core/error.hpp"
#include "nodulecad/model/losses.hpp"
#include "nodulecad/model/run_mode.hpp"
#include "nodulecad/model/unet.hpp"

namespace nodulecad {

void BenchOptions::check() const {
    unet.check();
    require_positive("size", size);
    require_positive("batch", batch);
    require_positive("iterations", iterations);
    require_non_negative("warmup", warmup);
    const int step = 1 << (unet.depth - 1);
    if (size % step != 0) throw OptionError("size", "must be divisible by 2^(depth-1) = " + std::to_string(step) + ", got " + std::to_string(size));
}

BenchResult bench_unet(const BenchOptions& o) {
    o.check();
    const torch::Device device = pick_device(o.device);
    if (o.amp && !device.is_cuda()) throw OptionError("amp", "is bf16 autocast, for CUDA devices; this run is on " + device.str());
    torch::manual_seed(0);
    UNet model(o.unet);
    model->use_aten_upsample(o.aten_upsample);
    model->to(device);
    const RunMode mode = run_mode(device, o.amp);
    enable_cudnn_autotune(device);
    apply_memory_format(*model, mode);
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-5));
    const torch::Tensor x = as_input(torch::rand({o.batch, o.unet.in_channels, o.size, o.size}, torch::TensorOptions().device(device)), mode);
    const torch::Tensor y = (torch::rand({o.batch, 1, o.size, o.size}, torch::TensorOptions().device(device)) > 0.99).to(torch::kFloat);
    const auto step = [&] {
        if (o.mode == BenchMode::Train) {
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
    using Clock = std::chrono::steady_clock;
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
