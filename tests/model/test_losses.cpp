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

TEST(Losses, SampleTverskyWeighsMissedPixelsAboveFalseOnes) {
    const Batch b;
    torch::Tensor count, dice_count;
    // At 0.5 / 0.5 it is each sample's soft Dice.
    EXPECT_NEAR(sample_tversky_sum(b.p, b.y, 0.5, 0.5, count).item<double>(),
                sample_soft_dice_sum(b.p, b.y, dice_count).item<double>(), 1e-6);
    EXPECT_EQ(count.item<double>(), 2.0);
    // At 0.3 / 0.7. Sample 0: I = 1, FP = 0, FN = 3: 3 / (3 + 1.4 * 3) = 3 / 7.2; sample 1: I = 0.25, FP = 0,
    // FN = 0.75: 1.5 / (1.5 + 1.4 * 0.75) = 1.5 / 2.55; sample 2 holds no nodule and is left out.
    const double t0 = 3 / 7.2, t1 = 1.5 / 2.55;
    EXPECT_NEAR(sample_tversky_sum(b.p, b.y, 0.3, 0.7, count).item<double>(), t0 + t1, 1e-6);
    EXPECT_EQ(count.item<double>(), 2.0);
    EXPECT_NEAR(sample_overlap_sum(UNetLoss::SampleTverskyBce, b.p, b.y, count).item<double>(), t0 + t1, 1e-6);
    torch::Tensor shown;
    EXPECT_NEAR(unet_loss(UNetLoss::SampleTverskyBce, b.p, b.y, &shown).item<double>(), -(t0 + t1) / 2 + bce(b.p, b.y), 1e-6);
    EXPECT_NEAR(shown.item<double>(), 3.5 / 7.75, 1e-6);  // the batch's Dice, as for every loss
    EXPECT_TRUE(per_sample_loss(UNetLoss::SampleTverskyBce));
    EXPECT_TRUE(per_sample_loss(UNetLoss::SampleDiceBce));
    EXPECT_FALSE(per_sample_loss(UNetLoss::DiceBce));

    // A 4-pixel nodule in an 8 x 8 crop, 0.1 everywhere: I = 0.4, P = 6.4, Y = 4, numerator N = 1.8. A nodule
    // pixel's gradient against a background pixel's: (2D - N (2 - 2 fn)) / (2 fp N), D the denominator: with Dice
    // (D = 11.4) (22.8 - 1.8) / 1.8 = 11.67, with 0.3 / 0.7 (D = 10.44) (20.88 - 1.08) / 1.08 = 18.33.
    torch::Tensor y = torch::zeros({1, 1, 8, 8});
    y[0][0].slice(0, 3, 5).slice(1, 3, 5).fill_(1);
    const auto ratio = [&y](double fp, double fn) {
        const torch::Tensor p = torch::full({1, 1, 8, 8}, 0.1, torch::requires_grad());
        torch::Tensor n;
        sample_tversky_sum(p, y, fp, fn, n).backward();
        return p.grad()[0][0][3][3].item<double>() / -p.grad()[0][0][0][0].item<double>();
    };
    EXPECT_NEAR(ratio(0.5, 0.5), 21.0 / 1.8, 1e-3);
    EXPECT_NEAR(ratio(0.3, 0.7), 19.8 / 1.08, 1e-3);
}

}  // namespace
}  // namespace nodulecad
