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

// Not sample_soft_dice_sum's body at 0.5 / 0.5 (equal in exact arithmetic, tested): the recipe's loss keeps its own
// float operations, so that runs with it reproduce the figures measured before this loss existed.
torch::Tensor sample_tversky_sum(const torch::Tensor& p, const torch::Tensor& y, double fp, double fn, torch::Tensor& count) {
    const torch::Tensor pf = p.flatten(1), yf = y.flatten(1);
    const torch::Tensor ysum = yf.sum(1), inter = (pf * yf).sum(1);
    const torch::Tensor false_pos = pf.sum(1) - inter, false_neg = ysum - inter;
    const torch::Tensor t = (2 * inter + 1) / (2 * inter + 2 * fp * false_pos + 2 * fn * false_neg + 1);
    const torch::Tensor holds = (ysum > 0).to(t.scalar_type());
    count = holds.sum();
    return (t * holds).sum();
}

bool per_sample_loss(UNetLoss loss) { return loss == UNetLoss::SampleDiceBce || loss == UNetLoss::SampleTverskyBce; }

torch::Tensor sample_overlap_sum(UNetLoss loss, const torch::Tensor& p, const torch::Tensor& y, torch::Tensor& count) {
    if (loss == UNetLoss::SampleTverskyBce)
        return sample_tversky_sum(p, y, kTverskyFalsePositiveWeight, kTverskyFalseNegativeWeight, count);
    return sample_soft_dice_sum(p, y, count);
}

torch::Tensor unet_loss(UNetLoss loss, const torch::Tensor& p, const torch::Tensor& y, torch::Tensor* dice) {
    const torch::Tensor d = soft_dice(p, y);
    if (dice) *dice = d;
    torch::Tensor l = -d;
    if (per_sample_loss(loss)) {
        torch::Tensor count;
        const torch::Tensor sum = sample_overlap_sum(loss, p, y, count);
        l = -sum / count.clamp_min(1);
    }
    if (loss != UNetLoss::Dice) l = l + torch::binary_cross_entropy(p.clamp(1e-6, 1 - 1e-6), y);
    return l;
}

}  // namespace nodulecad
