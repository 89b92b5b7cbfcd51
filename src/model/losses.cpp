#include "nodulecad/model/losses.hpp"

namespace nodulecad {

torch::Tensor soft_dice(const torch::Tensor& p, const torch::Tensor& y) { return (2 * (p * y).sum() + 1) / (p.sum() + y.sum() + 1); }

torch::Tensor sample_soft_dice_sum(const torch::Tensor& p, const torch::Tensor& y, torch::Tensor& count) {
    const torch::Tensor pf = p.flatten(1), yf = y.flatten(1);
    const torch::Tensor ysum = yf.sum(1);
    const torch::Tensor d = (2 * (pf * yf).sum(1) + 1) / (pf.sum(1) + ysum + 1);
    const torch::Tensor holds = (ysum > 0).to(d.scalar_type());
    count = holds.sum();
    return (d * holds).sum();
}

torch::Tensor unet_loss(UNetLoss loss, const torch::Tensor& p, const torch::Tensor& y, torch::Tensor* dice) {
    const torch::Tensor d = soft_dice(p, y);
    if (dice) *dice = d;
    torch::Tensor l = -d;
    if (loss == UNetLoss::SampleDiceBce) {
        torch::Tensor count;
        const torch::Tensor sum = sample_soft_dice_sum(p, y, count);
        l = -sum / count.clamp_min(1);
    }
    if (loss != UNetLoss::Dice) l = l + torch::binary_cross_entropy(p.clamp(1e-6, 1 - 1e-6), y);
    return l;
}

}  // namespace nodulecad
