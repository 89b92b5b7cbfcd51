#include "nodulecad/synth/phantom.hpp"

#include <algorithm>
#include <cmath>

namespace nodulecad {

namespace {
double sq(double v) { return v * v; }
}  // namespace

Phantom make_phantom(const PhantomSpec& spec) {
    const Geometry& g = spec.geometry;
    validate(g, "phantom");
    const IndexWorldTransform t(g);
    const Vec3 centre = t.to_world({(static_cast<double>(g.size[0]) - 1) / 2, (static_cast<double>(g.size[1]) - 1) / 2,
                                    (static_cast<double>(g.size[2]) - 1) / 2});
    // Extent of the field of view in world mm along each world axis (bounding box of the corners).
    Vec3 half{0, 0, 0};
    for (int c = 0; c < 8; ++c) {
        const Vec3 corner = t.to_world({(c & 1) ? static_cast<double>(g.size[0]) - 1 : 0.0,
                                        (c & 2) ? static_cast<double>(g.size[1]) - 1 : 0.0,
                                        (c & 4) ? static_cast<double>(g.size[2]) - 1 : 0.0});
        for (int a = 0; a < 3; ++a) half[a] = std::max(half[a], std::abs(corner[a] - centre[a]));
    }
    for (double& h : half) h = std::max(h, 1.0);

    Phantom p;
    p.scan = Volume<std::int16_t>(g, -1000);
    p.nodule_diameter_mm = spec.nodule_diameter_mm;
    // The nodule sits in the right lung (patient right = world -x in LPS), a little anterior.
    const double lung_x = 0.45 * half[0];
    p.nodule_world = {centre[0] - lung_x, centre[1] - 0.1 * half[1], centre[2]};
    const double r2 = sq(spec.nodule_diameter_mm / 2);

    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 0; i < g.size[0]; ++i) {
                const Vec3 w = t.to_world({static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)});
                const double dx = (w[0] - centre[0]) / half[0], dy = (w[1] - centre[1]) / half[1],
                             dz = (w[2] - centre[2]) / half[2];
                std::int16_t hu = -1000;
                if (sq(dx / 0.9) + sq(dy / 0.7) <= 1) hu = 40;  // body
                for (double side : {-1.0, 1.0})
                    if (sq((dx - side * 0.45) / 0.33) + sq(dy / 0.5) + sq(dz / 0.95) <= 1) hu = -850;  // lungs
                if (sq(w[0] - p.nodule_world[0]) + sq(w[1] - p.nodule_world[1]) + sq(w[2] - p.nodule_world[2]) <= r2)
                    hu = 40;
                p.scan.at(i, j, k) = hu;
            }
    return p;
}

}  // namespace nodulecad
