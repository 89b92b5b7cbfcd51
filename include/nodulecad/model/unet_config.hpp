#pragma once
// The U-Net's shape, and everything inference must repeat from training (preprocessing, normalisation).
// Plain C++: the CLI and tests use it without torch.
#include <cstdint>
#include <string>

#include "nodulecad/core/enum_names.hpp"

namespace nodulecad {

struct UNetConfig {
    int in_channels = 1;    // 1, or 2K+1 with 2.5D context
    int base_filters = 32;  // filters at the first level, doubled per level
    int depth = 5;          // levels (the seed: 5 -> 32, 64, 128, 256, 512)
    bool batch_norm = false;

    void check() const;  // OptionError for a network that cannot be built
};

// The seed network (in_channels 1, 32 filters, depth 5) has 7,846,081 parameters.
std::int64_t unet_parameter_count(const UNetConfig& c);
// The encoder-decoder without its heads, for any kernel (9 taps in 2D, 27 in 3D): levels of two convolutions
// (+ batch-norm affine), filters doubling, decoder convolutions on [upsampled, skip].
std::int64_t unet_body_parameter_count(int in_channels, int base_filters, int depth, bool batch_norm, int kernel_taps);

// The U-Net's training loss.
enum class UNetLoss {
    Dice,     // negative soft Dice over the batch, smooth 1 (the seed's)
    DiceBce,  // the same plus binary cross-entropy per pixel
    // The soft Dice of each sample that holds nodule pixels, averaged over those samples, plus binary cross-entropy
    // per pixel: every nodule crop weighs alike, whatever the nodule's size (over the batch, a 20-mm nodule's pixels
    // outweigh a 4-mm one's some 25-fold); samples without nodule pixels are taught by the cross-entropy alone.
    SampleDiceBce,
    // The same with each sample's soft Tversky index instead of its Dice: missed nodule pixels weigh 0.7, false
    // positive pixels 0.3 (Dice weighs both 0.5), for the small faint nodules a Dice-trained U-Net leaves at 0.
    SampleTverskyBce,
};
inline constexpr EnumName<UNetLoss> kUNetLossNames[] = {{UNetLoss::Dice, "dice"},
                                                        {UNetLoss::DiceBce, "dice_bce"},
                                                        {UNetLoss::SampleDiceBce, "sample_dice_bce"},
                                                        {UNetLoss::SampleTverskyBce, "sample_tversky_bce"}};
// SampleTverskyBce's weights on false-positive and false-negative pixels (Salehi et al. 2017 found 0.3 / 0.7 best
// for small lesions).
inline constexpr double kTverskyFalsePositiveWeight = 0.3;
inline constexpr double kTverskyFalseNegativeWeight = 0.7;

// What a checkpoint carries besides the weights.
struct ModelCard {
    UNetConfig unet;
    int size = 512;
    double pixel_mm = 0.703125;
    double window_lo = -1000, window_hi = 400;
    int context = 0;
    bool mask_lungs = false;
    double mean = 0, std = 1;  // input normalisation (train statistics)
    UNetLoss loss = UNetLoss::Dice;
    int epoch = 0;
    double best_val_dice = -1;

    std::string to_json() const;
    static ModelCard from_json(const std::string& text, const std::string& source);
};

}  // namespace nodulecad
