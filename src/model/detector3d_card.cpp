#include "nodulecad/core/error.hpp"
#include "nodulecad/model/detector3d_config.hpp"

namespace nodulecad {

void Detector3dConfig::check() const {
    require_between("in_channels", in_channels, 1, 64);
    require_between("base_filters", base_filters, 1, 256);
    require_between("depth", depth, 1, 6);
}

std::int64_t detector3d_parameter_count(const Detector3dConfig& c) {
    const auto conv = [&](std::int64_t in, std::int64_t out) { return 27 * in * out + out + (c.batch_norm ? 2 * out : 0); };
    std::int64_t n = 0, prev = c.in_channels;
    for (int l = 0; l < c.depth; ++l) {
        const std::int64_t f = static_cast<std::int64_t>(c.base_filters) << l;
        n += conv(prev, f) + conv(f, f);
        prev = f;
    }
    for (int l = c.depth - 2; l >= 0; --l) {
        const std::int64_t f = static_cast<std::int64_t>(c.base_filters) << l;
        n += conv(2 * f + f, f) + conv(f, f);  // upsampled (2f) concatenated with the skip (f)
    }
    return n + 2 * (c.base_filters + 1);  // two 1x1x1 heads
}

}  // namespace nodulecad
