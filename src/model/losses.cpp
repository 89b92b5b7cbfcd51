#include "nodulecad/model/losses.hpp"

namespace nodulecad {

torch::Tensor soft_dice(const torch::Tensor& p, const torch::Tensor& y) { return (2 * (p * y).sum() + 1) / (p.sum() + y.sum() + 1); }

torch::Tensor unet_loss(UNetLoss loss, const torch::Tensor& p, const torch::Tensor& y, torch::Tensor* dice) {
    const torch::Tensor d = soft_dice(p, y);
    if (dice) *dice = d;
    torch::Tensor l = -d;
    if (loss == UNetLoss::DiceBce) l = l + torch::binary_cross_entropy(p.clamp(1e-6, 1 - 1e-6), y);
    return l;
}

}  // namespace nodulecad
