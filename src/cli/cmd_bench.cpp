// nodulecad bench train|infer: U-Net images/s or 3D detector patches/s on synthetic tensors (LibTorch builds only).
#include <cstdio>

#include "cli/commands.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/model/speed_bench.hpp"

namespace nodulecad::cli {

void register_bench(CLI::App& app) {
    auto o = std::make_shared<BenchOptions>();
    auto threads = std::make_shared<int>(default_thread_count());
    auto filters = std::make_shared<int>(0);
    auto depth = std::make_shared<int>(0);
    CLI::App* cmd = app.add_subcommand("bench",
                                       "Measure training or inference speed on synthetic tensors: U-Net images/s (size x size) or\n"
                                       "3D detector patches/s (size^3, --network detector3d).");
    add_enum_option(cmd, "mode", o->mode, kBenchModeNames, "train or infer")->required();
    add_enum_option(cmd, "--network", o->network, kBenchNetworkNames,
                    "unet2d (the seed's U-Net) or detector3d (the 3D detector, on cubic patches)");
    cmd->add_option("--size", o->size, "Image size, or the patch's side for detector3d")->capture_default_str();
    cmd->add_option("--batch", o->batch, "Batch size")->capture_default_str();
    cmd->add_option("--iterations", o->iterations, "Timed steps")->capture_default_str();
    cmd->add_option("--warmup", o->warmup, "Untimed steps first")->capture_default_str();
    cmd->add_option("--device", o->device, "auto, cpu or cuda[:N]")->capture_default_str();
    cmd->add_flag("--amp", o->amp, "bf16 autocast (fp32 master weights; channels-last for the U-Net), as training and inference use on CUDA (CUDA only)");
    cmd->add_flag("--aten-upsample", o->aten_upsample,
                  "Upsample with ATen's upsample_nearest2d, which CUDA autocast runs in fp32, instead of the bf16 broadcast copy "
                  "(to measure what the copy saves; unet2d only)");
    cmd->add_option("--filters", *filters, "Filters at the first level (default: unet2d 32, detector3d 16)");
    cmd->add_option("--depth", *depth, "Levels (default: unet2d 5, detector3d 4)");
    cmd->add_option("--threads", *threads, "CPU threads")->capture_default_str();
    cmd->callback([o, threads, filters, depth] {
        use_threads(*threads);
        const bool unet = o->network == BenchNetwork::UNet2d;
        if (*filters > 0) (unet ? o->unet.base_filters : o->detector3d.base_filters) = *filters;
        if (*depth > 0) (unet ? o->unet.depth : o->detector3d.depth) = *depth;
        const BenchResult r = bench_network(*o);
        const std::string shape = std::to_string(o->size) + "x" + std::to_string(o->size) + (unet ? "" : "x" + std::to_string(o->size));
        std::printf("%s %s %s batch %d on %s: %.3f %s/s (%.3f s per %s)\n", enum_name(o->network, kBenchNetworkNames).c_str(),
                    enum_name(o->mode, kBenchModeNames).c_str(), shape.c_str(), o->batch, r.device.c_str(), r.images_per_second,
                    unet ? "images" : "patches", r.seconds_per_image, unet ? "image" : "patch");
    });
}

}  // namespace nodulecad::cli
