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

// Per sample, the soft Tversky index (2I + 1) / (2I + 2 fp FP + 2 fn FN + 1), I = sum(p y), FP = sum(p (1 - y)),
// FN = sum((1 - p) y), of those samples whose target holds a pixel > 0, summed; `count` as above. Written over 2 so
// that at fp = fn = 0.5 it is the soft Dice with smooth 1 of sample_soft_dice_sum.
torch::Tensor sample_tversky_sum(const torch::Tensor& p, const torch::Tensor& y, double fp, double fn, torch::Tensor& count);

// Whether the loss's overlap term is a mean over the samples that hold nodule pixels (SampleDiceBce,
// SampleTverskyBce), and that term's sum over them (sample_soft_dice_sum or sample_tversky_sum with the kTversky
// weights); `count` as above.
bool per_sample_loss(UNetLoss loss);
torch::Tensor sample_overlap_sum(UNetLoss loss, const torch::Tensor& p, const torch::Tensor& y, torch::Tensor& count);

// The U-Net's loss on probabilities p: -soft Dice (over the batch; for the per-sample losses the mean of
// sample_overlap_sum over its count, 0 when no sample holds a nodule), plus per-pixel binary cross-entropy for all but
// Dice (p clamped to [1e-6, 1 - 1e-6]). `dice`, when given, receives the batch's soft Dice whatever the loss.
torch::Tensor unet_loss(UNetLoss loss, const torch::Tensor& p, const torch::Tensor& y, torch::Tensor* dice = nullptr);

}  // namespace nodulecad
