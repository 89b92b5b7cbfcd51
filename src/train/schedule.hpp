#pragma once
// Learning-rate schedules shared by the U-Net and FP-reduction trainers. Set from the epoch number alone, so a
// resumed run follows the same schedule as an uninterrupted one.
#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"

namespace nodulecad {

// "constant": lr every epoch. "cosine": from lr at epoch 1 down to lr / 100 at the last epoch.
inline double scheduled_lr(double lr, const std::string& schedule, int epoch, int epochs) {
    if (schedule == "constant") return lr;
    if (schedule != "cosine") throw Error("--lr-schedule must be constant or cosine, not " + schedule);
    return lr * (0.01 + 0.99 * 0.5 * (1 + std::cos(3.14159265358979323846 * (epoch - 1) / std::max(1, epochs - 1))));
}

}  // namespace nodulecad
