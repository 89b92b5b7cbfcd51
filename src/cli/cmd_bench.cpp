// nodulecad bench train|infer: U-Net images/s on synthetic tensors (LibTorch builds only).
#include <cstdio>

#include "cli/commands.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/model/speed_bench.hpp"

namespace nodulecad::cli {

void register_bench(CLI::App& app) {
    auto o = std::make_shared<BenchOptions>();
    auto threads = std::make_shared<int>(default_thread_count());
    CLI::App* cmd = app.add_subcommand("bench", "Measure U-Net training or inference speed (images/s) on synthetic tensors.");
    add_enum_option(cmd, "mode", o->mode, kBenchModeNames, "train or infer")->required();
    cmd->add_option("--size", o->size, "Image size")->capture_default_str();
    cmd->add_option("--batch", o->batch, "Batch size")->capture_default_str();
    cmd->add_option("--iterations", o->iterations, "Timed steps")->capture_default_str();
    cmd->add_option("--warmup", o->warmup, "Untimed steps first")->capture_default_str();
    cmd->add_option("--device", o->device, "auto, cpu or cuda[:N]")->capture_default_str();
    cmd->add_flag("--amp", o->amp, "bf16 autocast (fp32 master weights) and channels-last, as train and predict use on CUDA (CUDA only)");
    cmd->add_flag("--aten-upsample", o->aten_upsample,
                  "Upsample with ATen's upsample_nearest2d, which CUDA autocast runs in fp32, instead of the bf16 broadcast copy "
                  "(to measure what the copy saves)");
    cmd->add_option("--filters", o->unet.base_filters, "Filters at the first level")->capture_default_str();
    cmd->add_option("--depth", o->unet.depth, "Levels")->capture_default_str();
    cmd->add_option("--threads", *threads, "CPU threads")->capture_default_str();
    cmd->callback([o, threads] {
        use_threads(*threads);
        const BenchResult r = bench_unet(*o);
        std::printf("%s %dx%d batch %d on %s: %.3f images/s (%.3f s per image)\n", enum_name(o->mode, kBenchModeNames).c_str(), o->size, o->size,
                    o->batch, r.device.c_str(), r.images_per_second, r.seconds_per_image);
    });
}

}  // namespace nodulecad::cli
