#pragma once
// Losses of the segmentation networks, shared by their trainer and the speed benchmark. Include only from torch
// translation units.
#include <torch/torch.h>

#include "nodulecad/model/unet_config.hpp"

namespace nodulecad {

// Soft Dice over the whole batch with smooth 1: (2 sum(p y) + 1) / (sum(p) + sum(y) + 1). p and y: same shape.
torch::Tensor soft_dice(const torch::Tensor& p, const torch::Tensor& y);

// Per sample (the first dimension), the soft Dice with smooth 1 of those samples whose target holds a pixel > 0,
// summed; `count` receives how many such samples there were (a 0-dimensional float tensor).
torch::Tensor sample_soft_dice_sum(const torch::Tensor& p, const torch::Tensor& y, torch::Tensor& count);

// The U-Net's loss on probabilities p: -soft Dice (over the batch; for SampleDiceBce the mean of sample_soft_dice_sum
// over its count, 0 when no sample holds a nodule), plus per-pixel binary cross-entropy for DiceBce and SampleDiceBce
// (p clamped to [1e-6, 1 - 1e-6]). `dice`, when given, receives the batch's soft Dice whatever the loss.
torch::Tensor unet_loss(UNetLoss loss, const torch::Tensor& p, const torch::Tensor& y, torch::Tensor* dice = nullptr);

}  // namespace nodulecad
