#pragma once
// The 3D detector as a LibTorch module, and its loss. Include only from torch translation units.
#include <torch/torch.h>

#include <string>

#include "nodulecad/model/detector3d_config.hpp"

namespace nodulecad {

// Levels of two 3x3x3 convolutions (+ batch norm) + ReLU, 2x2x2 max-pooling down, nearest 2x upsampling and
// concatenation [up, skip] up, then two 1x1x1 heads.
class Detector3dImpl : public torch::nn::Module {
public:
    explicit Detector3dImpl(const Detector3dConfig& c);
    // (B, C, D, H, W) -> (B, 2, D, H, W): channel 0 the centre logit (the nodule logit for the segmentation head),
    // channel 1 log(diameter in mm).
    torch::Tensor forward(torch::Tensor x);
    const Detector3dConfig& config() const { return config_; }

private:
    Detector3dConfig config_;
    std::vector<torch::nn::Sequential> down_, up_;
    torch::nn::Conv3d heat_{nullptr}, size_{nullptr};
};
TORCH_MODULE(Detector3d);

// The channels the first convolution sees (forward calls it): `x` (B, C, D, H, W) itself (lung; lung+mask, whose
// mask is fed as x's last channel), or with the glass window after it, (B, 2C, D, H, W): clamp(2x + 1, -1, 1).
torch::Tensor detector3d_input(const torch::Tensor& x, Detector3dInput input);

// Checkpoints (model/checkpoint.hpp) with a Detector3dCard; loading refuses other networks' checkpoints by name.
void save_detector3d(const std::string& path, Detector3d& model, const Detector3dCard& card, torch::optim::Optimizer* optimizer);
Detector3d load_detector3d(const std::string& path, Detector3dCard& card, const torch::Device& device = torch::kCPU);

// The heatmap focal loss (mean over the centre voxels, those where target == 1) plus size_weight times the L1 error
// of log-diameter at those voxels. `output` (B, 2, D, H, W) from forward; `heat` (B, 1, D, H, W) the Gaussian target
// in [0, 1]; `log_diameter` (B, 1, D, H, W) the target size, read at centre voxels only.
torch::Tensor detector3d_loss(const torch::Tensor& output, const torch::Tensor& heat, const torch::Tensor& log_diameter,
                              const HeatmapLossOptions& opts = {});

// Both losses are sums over the batch divided by counts of it (centre voxels, voxels inside the balls) or a soft Dice
// of its sums; their parts, so that ranks each holding some of a batch can make the whole batch's loss
// (train/train_detector3d.cpp). detector3d_loss = focal / max(1, count) + size_weight * (size / max(1, count)).
struct Detector3dLossSums {
    torch::Tensor focal;       // heatmap head: -(sum of the focal terms); segmentation head: undefined
    torch::Tensor size;        // sum of |log-diameter error| at the centre voxels (inside the balls)
    torch::Tensor count;       // centre voxels (voxels inside the balls)
    torch::Tensor p;           // segmentation head: the nodule probability (for the soft Dice and its sums)
};
Detector3dLossSums detector3d_loss_sums(const torch::Tensor& output, const torch::Tensor& target, const torch::Tensor& log_diameter,
                                        Detector3dHead head, const HeatmapLossOptions& opts = {});

// The segmentation head's loss: per-voxel binary cross-entropy (mean) + 1 - soft Dice over the batch (model/losses.hpp)
// of the first channel against `mask` (1 inside each nodule's ball), plus size_weight times the L1 error of
// log-diameter inside the balls. Shapes as detector3d_loss.
torch::Tensor detector3d_segmentation_loss(const torch::Tensor& output, const torch::Tensor& mask, const torch::Tensor& log_diameter,
                                           const HeatmapLossOptions& opts = {});

}  // namespace nodulecad
