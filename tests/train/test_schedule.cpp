// Learning-rate schedules (train/schedule.hpp), shared by both trainers.
#include <gtest/gtest.h>

#include <cmath>

#include "nodulecad/core/error.hpp"
#include "nodulecad/train/schedule.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

TEST(Schedule, CosineFallsFromLrToAHundredthAndConstantStays) {
    EXPECT_DOUBLE_EQ(scheduled_lr(2e-3, LrSchedule::Cosine, 1, 30), 2e-3);
    EXPECT_NEAR(scheduled_lr(2e-3, LrSchedule::Cosine, 30, 30), 2e-5, 1e-15);
    // Half way (epoch 3 of 5): half of the way down, 0.01 + 0.99 / 2 of lr.
    EXPECT_NEAR(scheduled_lr(1.0, LrSchedule::Cosine, 3, 5), 0.505, 1e-12);
    EXPECT_NEAR(scheduled_lr(1.0, LrSchedule::Cosine, 2, 5), 0.01 + 0.99 * 0.5 * (1 + std::sqrt(0.5)), 1e-12);
    for (int e = 2; e <= 10; ++e) EXPECT_LT(scheduled_lr(1.0, LrSchedule::Cosine, e, 10), scheduled_lr(1.0, LrSchedule::Cosine, e - 1, 10));
    EXPECT_DOUBLE_EQ(scheduled_lr(1.0, LrSchedule::Cosine, 1, 1), 1.0);  // a one-epoch run trains at lr
    EXPECT_DOUBLE_EQ(scheduled_lr(3e-4, LrSchedule::Constant, 7, 10), 3e-4);
}

TEST(Schedule, NamesParseBothWaysAndAnUnknownOneIsNamedInTheError) {
    EXPECT_EQ(parse_enum("lr_schedule", "cosine", kLrScheduleNames), LrSchedule::Cosine);
    EXPECT_EQ(enum_name(LrSchedule::Constant, kLrScheduleNames), "constant");
    EXPECT_EQ(enum_from_name("cosine", kLrScheduleNames), LrSchedule::Cosine);
    EXPECT_EQ(enum_from_name("step", kLrScheduleNames), std::nullopt);
    test::expect_error([] { (void)parse_enum("lr_schedule", "step", kLrScheduleNames); }, {"lr_schedule must be constant or cosine, got 'step'"});
    EXPECT_THROW((void)parse_enum("lr_schedule", "step", kLrScheduleNames), OptionError);
}

}  // namespace
}  // namespace nodulecad
