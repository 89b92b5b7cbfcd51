#pragma once
// `nodulecad bench`: U-Net training steps or forward passes per second on synthetic tensors, the figures of
// docs/performance.md. Plain C++ interface; implemented with LibTorch.
#include <string>

#include "nodulecad/core/enum_names.hpp"
#include "nodulecad/model/unet_config.hpp"

namespace nodulecad {

enum class BenchMode {
    Train,  // forward, -soft Dice, backward, Adam step
    Infer,  // forward without gradients, in eval mode
};
inline constexpr EnumName<BenchMode> kBenchModeNames[] = {{BenchMode::Train, "train"}, {BenchMode::Infer, "infer"}};

struct BenchOptions {
    BenchMode mode = BenchMode::Train;
    int size = 512, batch = 1, iterations = 3, warmup = 1;
    std::string device = "auto";
    bool amp = false;            // bf16 autocast + channels-last (CUDA only)
    bool aten_upsample = false;  // upsample with torch::upsample_nearest2d even under autocast (for comparison)
    UNetConfig unet;

    void check() const;  // OptionError for values no benchmark can run
};

struct BenchResult {
    double images_per_second = 0, seconds_per_image = 0;
    std::string device;
};

BenchResult bench_unet(const BenchOptions& opts);

}  // namespace nodulecad
