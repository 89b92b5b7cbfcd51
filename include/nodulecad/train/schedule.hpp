#pragma once
// Learning-rate schedules of the trainer. Set from the epoch number alone, so a resumed run follows the same
// schedule as an uninterrupted one.
#include <algorithm>
#include <cmath>

#include "nodulecad/core/enum_names.hpp"
#include "nodulecad/core/math.hpp"

namespace nodulecad {

enum class LrSchedule {
    Constant,  // lr every epoch
    Cosine,    // from lr at epoch 1 down to lr / 100 at the last epoch
};
inline constexpr EnumName<LrSchedule> kLrScheduleNames[] = {{LrSchedule::Constant, "constant"}, {LrSchedule::Cosine, "cosine"}};

inline double scheduled_lr(double lr, LrSchedule schedule, int epoch, int epochs) {
    if (schedule == LrSchedule::Constant) return lr;
    return lr * (0.01 + 0.99 * 0.5 * (1 + std::cos(kPi * (epoch - 1) / std::max(1, epochs - 1))));
}

}  // namespace nodulecad
