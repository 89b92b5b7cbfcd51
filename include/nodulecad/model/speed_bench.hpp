#pragma once
// `nodulecad bench`: training steps or forward passes per second of the U-Net (2D images) or of the 3D detector
// (cubic patches) on synthetic tensors, the figures of docs/performance.md. Plain C++ interface; implemented with
// LibTorch.
#include <string>

#include "nodulecad/core/enum_names.hpp"
#include "nodulecad/model/detector3d_config.hpp"
#include "nodulecad/model/unet_config.hpp"

namespace nodulecad {

enum class BenchMode {
    Train,  // forward, -soft Dice, backward, Adam step
    Infer,  // forward without gradients, in eval mode
};
inline constexpr EnumName<BenchMode> kBenchModeNames[] = {{BenchMode::Train, "train"}, {BenchMode::Infer, "infer"}};

enum class BenchNetwork {
    UNet2d,      // size x size images; train: -soft Dice
    Detector3d,  // size^3 patches; train: the focal heatmap + size loss
};
inline constexpr EnumName<BenchNetwork> kBenchNetworkNames[] = {{BenchNetwork::UNet2d, "unet2d"}, {BenchNetwork::Detector3d, "detector3d"}};

struct BenchOptions {
    BenchMode mode = BenchMode::Train;
    BenchNetwork network = BenchNetwork::UNet2d;
    int size = 512, batch = 1, iterations = 3, warmup = 1;
    std::string device = "auto";
    bool amp = false;            // bf16 autocast + channels-last (CUDA only)
    bool aten_upsample = false;  // upsample with torch::upsample_nearest2d even under autocast (for comparison)
    UNetConfig unet;             // network unet2d
    Detector3dConfig detector3d;  // network detector3d

    void check() const;  // OptionError for values no benchmark can run
};

struct BenchResult {
    double images_per_second = 0, seconds_per_image = 0;  // images or, for the 3D detector, patches
    std::string device;
};

BenchResult bench_network(const BenchOptions& opts);

}  // namespace nodulecad
