#pragma once
// A test scan with one smooth ball at a world point, on any direction matrix.
#include <cmath>

#include "nodulecad/core/geometry.hpp"
#include "nodulecad/core/volume.hpp"

namespace nodulecad::test {

// A 0.7 x 0.7 x 2.5 mm scan of air with a 6 mm ball (40 HU) centred at `world`.
inline Volume<std::int16_t> scan_with_ball(const Mat3& direction, const Vec3& world) {
    Geometry g;
    g.size = {64, 56, 20};
    g.spacing = {0.7, 0.7, 2.5};
    g.direction = direction;
    // The origin puts the grid's centre near the ball, whatever the direction.
    const Vec3 half{31.5 * 0.7, 27.5 * 0.7, 9.5 * 2.5};
    for (int r = 0; r < 3; ++r) g.origin[r] = world[r] - (direction[r * 3] * half[0] + direction[r * 3 + 1] * half[1] + direction[r * 3 + 2] * half[2]) + 1.3;
    Volume<std::int16_t> v(g, -1000);
    const IndexWorldTransform t(g);
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 0; i < g.size[0]; ++i) {
                const Vec3 w = t.to_world({static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)});
                const double d = std::hypot(w[0] - world[0], w[1] - world[1], w[2] - world[2]);
                // A smooth profile, so the sampled centre of mass sits on the true centre.
                v.voxels[static_cast<std::size_t>((k * g.size[1] + j) * g.size[0] + i)] =
                    static_cast<std::int16_t>(-1000 + 1040 * std::exp(-d * d / (2 * 2.0 * 2.0)));
            }
    return v;
}

}  // namespace nodulecad::test
