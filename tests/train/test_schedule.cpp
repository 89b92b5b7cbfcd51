// Learning-rate schedules (train/schedule.hpp), shared by both trainers.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "train/schedule.hpp"

namespace nodulecad {
namespace {

TEST(Schedule, CosineFallsFromLrToAHundredthAndConstantStays) {
    EXPECT_DOUBLE_EQ(scheduled_lr(2e-3, "cosine", 1, 30), 2e-3);
    EXPECT_NEAR(scheduled_lr(2e-3, "cosine", 30, 30), 2e-5, 1e-15);
    // Half way (epoch 3 of 5): half of the way down, 0.01 + 0.99 / 2 of lr.
    EXPECT_NEAR(scheduled_lr(1.0, "cosine", 3, 5), 0.505, 1e-12);
    EXPECT_NEAR(scheduled_lr(1.0, "cosine", 2, 5), 0.01 + 0.99 * 0.5 * (1 + std::sqrt(0.5)), 1e-12);
    for (int e = 2; e <= 10; ++e) EXPECT_LT(scheduled_lr(1.0, "cosine", e, 10), scheduled_lr(1.0, "cosine", e - 1, 10));
    EXPECT_DOUBLE_EQ(scheduled_lr(1.0, "cosine", 1, 1), 1.0);  // a one-epoch run trains at lr
    EXPECT_DOUBLE_EQ(scheduled_lr(3e-4, "constant", 7, 10), 3e-4);
    EXPECT_THROW((void)scheduled_lr(1.0, "step", 1, 10), Error);
}

}  // namespace
}  // namespace nodulecad
