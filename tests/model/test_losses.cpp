// The U-Net's losses on hand-made batches: values worked out by hand, and what each loss's gradient weighs.
#include <gtest/gtest.h>

#include <cmath>

#include <torch/torch.h>

#include "nodulecad/model/losses.hpp"

namespace nodulecad {
namespace {

// Three 1 x 4 x 4 samples: a 4-pixel nodule predicted at 0.5 on two of its pixels, a 1-pixel nodule predicted at 0.25
// there, and no nodule with 0.5 on one pixel.
struct Batch {
    torch::Tensor p = torch::zeros({3, 1, 4, 4});
    torch::Tensor y = torch::zeros({3, 1, 4, 4});
    Batch() {
        y[0][0].slice(0, 1, 3).slice(1, 1, 3).fill_(1);
        p[0][0][1][1] = 0.5;
        p[0][0][1][2] = 0.5;
        y[1][0][2][2] = 1;
        p[1][0][2][2] = 0.25;
        p[2][0][0][0] = 0.5;
    }
};

double bce(const torch::Tensor& p, const torch::Tensor& y) {
    const torch::Tensor q = p.clamp(1e-6, 1 - 1e-6);
    return -(y * q.log() + (1 - y) * (1 - q).log()).mean().item<double>();
}

TEST(Losses, SampleDiceAveragesTheSamplesThatHoldANodule) {
    const Batch b;
    // Sample 0: (2 * 1 + 1) / (1 + 4 + 1) = 0.5; sample 1: (2 * 0.25 + 1) / (0.25 + 1 + 1) = 1.5 / 2.25; sample 2 holds
    // no nodule and is left out.
    const double d0 = 0.5, d1 = 1.5 / 2.25;
    torch::Tensor count;
    const torch::Tensor sum = sample_soft_dice_sum(b.p, b.y, count);
    EXPECT_NEAR(sum.item<double>(), d0 + d1, 1e-6);
    EXPECT_EQ(count.item<double>(), 2.0);
    // The batch's soft Dice: (2 * 1.25 + 1) / (1.75 + 5 + 1).
    const double batch_dice = 3.5 / 7.75;
    EXPECT_NEAR(soft_dice(b.p, b.y).item<double>(), batch_dice, 1e-6);

    torch::Tensor shown;
    EXPECT_NEAR(unet_loss(UNetLoss::Dice, b.p, b.y, &shown).item<double>(), -batch_dice, 1e-6);
    EXPECT_NEAR(unet_loss(UNetLoss::DiceBce, b.p, b.y).item<double>(), -batch_dice + bce(b.p, b.y), 1e-6);
    EXPECT_NEAR(unet_loss(UNetLoss::SampleDiceBce, b.p, b.y, &shown).item<double>(), -(d0 + d1) / 2 + bce(b.p, b.y), 1e-6);
    EXPECT_NEAR(shown.item<double>(), batch_dice, 1e-6);  // what the bar and metrics.csv show is the batch's Dice

    // What is predicted on the sample without a nodule moves only the cross-entropy.
    Batch c;
    c.p[2][0][3][3] = 0.9;
    EXPECT_NEAR(unet_loss(UNetLoss::SampleDiceBce, c.p, c.y).item<double>(), -(d0 + d1) / 2 + bce(c.p, c.y), 1e-6);

    // No sample with a nodule: the Dice term is 0, not a division by zero.
    const torch::Tensor empty = torch::zeros({2, 1, 4, 4});
    const torch::Tensor p = torch::full({2, 1, 4, 4}, 0.2);
    const double loss = unet_loss(UNetLoss::SampleDiceBce, p, empty).item<double>();
    EXPECT_TRUE(std::isfinite(loss));
    EXPECT_NEAR(loss, -std::log(0.8), 1e-6);
}

// A 36-pixel nodule and a 1-pixel one, both predicted at 0.1 everywhere: over the batch a nodule pixel's gradient is
// the same whatever its nodule; per sample the small nodule's pixel pulls (2/8.4 - 1.2/8.4^2) / (2/43.4 -
// 8.2/43.4^2) = 5.3 times harder.
TEST(Losses, PerSampleTheSmallNodulesPixelsWeighMoreThanTheLargeOnes) {
    torch::Tensor y = torch::zeros({2, 1, 8, 8});
    y[0][0].slice(0, 1, 7).slice(1, 1, 7).fill_(1);
    y[1][0][4][4] = 1;
    const torch::Tensor p = torch::full({2, 1, 8, 8}, 0.1, torch::requires_grad());
    soft_dice(p, y).backward();
    const double batch_large = p.grad()[0][0][3][3].item<double>(), batch_small = p.grad()[1][0][4][4].item<double>();
    EXPECT_GT(batch_large, 0);
    EXPECT_NEAR(batch_small / batch_large, 1.0, 1e-6);

    const torch::Tensor q = torch::full({2, 1, 8, 8}, 0.1, torch::requires_grad());
    torch::Tensor count;
    sample_soft_dice_sum(q, y, count).backward();
    const double large = q.grad()[0][0][3][3].item<double>(), small = q.grad()[1][0][4][4].item<double>();
    const double expected = (2 / 8.4 - 1.2 / (8.4 * 8.4)) / (2 / 43.4 - 8.2 / (43.4 * 43.4));
    EXPECT_NEAR(small / large, expected, 1e-4);
    EXPECT_GT(small / large, 5.0);
}

}  // namespace
}  // namespace nodulecad
