#pragma once
// Intensity summary of a volume (one pass).
#include <cmath>
#include <cstdint>
#include <limits>

#include "nodulecad/core/volume.hpp"

namespace nodulecad {

struct IntensitySummary {
    double min = 0, max = 0, mean = 0;
    std::int64_t non_finite = 0;  // NaN/inf voxels (float volumes), left out of min/max/mean
};

template <class T> IntensitySummary summarize(const Volume<T>& v) {
    IntensitySummary s;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo, sum = 0;
    std::int64_t n = 0;
    for (const T x : v.voxels) {
        const double d = static_cast<double>(x);
        if constexpr (std::is_floating_point_v<T>) {
            if (!std::isfinite(d)) {
                ++s.non_finite;
                continue;
            }
        }
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
        sum += d;
        ++n;
    }
    if (n > 0) {
        s.min = lo;
        s.max = hi;
        s.mean = sum / static_cast<double>(n);
    }
    return s;
}

inline IntensitySummary summarize(const AnyVolume& v) {
    return std::visit([](const auto& vol) { return summarize(vol); }, v);
}

}  // namespace nodulecad
