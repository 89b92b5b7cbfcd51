#include "nodulecad/core/error.hpp"
#include "nodulecad/model/detector3d_config.hpp"
#include "nodulecad/model/unet_config.hpp"

namespace nodulecad {

void Detector3dConfig::check() const {
    require_between("in_channels", in_channels, 1, 64);
    require_between("base_filters", base_filters, 1, 256);
    require_between("depth", depth, 1, 6);
}

std::int64_t detector3d_parameter_count(const Detector3dConfig& c) {
    return unet_body_parameter_count(c.in_channels, c.base_filters, c.depth, c.batch_norm, 27) + 2 * (c.base_filters + 1);  // two 1x1x1 heads
}

}  // namespace nodulecad
