#pragma once
// Losses of the segmentation networks, shared by their trainer and the speed benchmark. Include only from torch
// translation units.
#include <torch/torch.h>

#include "nodulecad/model/unet_config.hpp"

namespace nodulecad {

// Soft Dice over the whole batch with smooth 1: (2 sum(p y) + 1) / (sum(p) + sum(y) + 1). p and y: same shape.
torch::Tensor soft_dice(const torch::Tensor& p, const torch::Tensor& y);

// The U-Net's loss on probabilities p: -soft Dice, plus per-pixel binary cross-entropy for DiceBce (p clamped to
// [1e-6, 1 - 1e-6]). `dice`, when given, receives the soft Dice.
torch::Tensor unet_loss(UNetLoss loss, const torch::Tensor& p, const torch::Tensor& y, torch::Tensor* dice = nullptr);

}  // namespace nodulecad
