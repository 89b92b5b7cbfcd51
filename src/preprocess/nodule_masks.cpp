#include "nodulecad/preprocess/nodule_masks.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "nodulecad/io/text_numbers.hpp"

namespace nodulecad {

Volume<std::uint8_t> nodule_mask(const Geometry& g, const std::vector<Annotation>& nodules, const NoduleMaskOptions& opts) {
    validate(g, "nodule mask geometry");
    Volume<std::uint8_t> mask(g, 0);
    const IndexWorldTransform t(g);
    for (std::size_t n = 0; n < nodules.size(); ++n) {
        const Annotation& a = nodules[n];
        if (!(a.diameter_mm > 0)) continue;
        const double drawn = std::max(a.diameter_mm, opts.min_diameter_mm);
        const double r = opts.legacy_radius ? drawn : drawn / 2;
        // Index-space box of the ball: the transformed corners of its world bounding cube.
        double lo[3] = {1e300, 1e300, 1e300}, hi[3] = {-1e300, -1e300, -1e300};
        for (int c = 0; c < 8; ++c) {
            const Vec3 w{a.world[0] + ((c & 1) ? r : -r), a.world[1] + ((c & 2) ? r : -r), a.world[2] + ((c & 4) ? r : -r)};
            const Vec3 idx = t.to_index(w);
            for (int ax = 0; ax < 3; ++ax) {
                lo[ax] = std::min(lo[ax], idx[ax]);
                hi[ax] = std::max(hi[ax], idx[ax]);
            }
        }
        std::int64_t b0[3], b1[3];
        for (int ax = 0; ax < 3; ++ax) {
            b0[ax] = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(lo[ax])));
            b1[ax] = std::min<std::int64_t>(g.size[ax] - 1, static_cast<std::int64_t>(std::ceil(hi[ax])));
        }
        const auto value = static_cast<std::uint8_t>(opts.instance_labels ? std::min<std::size_t>(n + 1, 255) : 1);
        const double r2 = r * r;
        for (std::int64_t k = b0[2]; k <= b1[2]; ++k)
            for (std::int64_t j = b0[1]; j <= b1[1]; ++j)
                for (std::int64_t i = b0[0]; i <= b1[0]; ++i) {
                    const Vec3 w = t.to_world({static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)});
                    const double d2 = (w[0] - a.world[0]) * (w[0] - a.world[0]) + (w[1] - a.world[1]) * (w[1] - a.world[1]) +
                                      (w[2] - a.world[2]) * (w[2] - a.world[2]);
                    if (d2 <= r2) mask.at(i, j, k) = value;
                }
    }
    return mask;
}

std::vector<std::string> annotation_problems(const Geometry& g, const std::vector<Annotation>& nodules) {
    std::vector<std::string> out;
    const IndexWorldTransform t(g);
    for (const Annotation& a : nodules) {
        const std::string at = "the nodule at (" + format_double(a.world[0]) + ", " + format_double(a.world[1]) + ", " +
                               format_double(a.world[2]) + ") mm";
        if (!(a.diameter_mm > 0)) out.push_back(at + " has diameter " + format_double(a.diameter_mm) + " mm: not drawn in any mask");
        const Vec3 idx = t.to_index(a.world);
        bool inside = true;
        for (int ax = 0; ax < 3; ++ax) inside = inside && idx[ax] >= -0.5 && idx[ax] <= static_cast<double>(g.size[ax]) - 0.5;
        if (!inside) {
            char where[96];
            std::snprintf(where, sizeof where, "voxel (%.0f, %.0f, %.0f) of %lldx%lldx%lld", idx[0], idx[1], idx[2],
                          static_cast<long long>(g.size[0]), static_cast<long long>(g.size[1]), static_cast<long long>(g.size[2]));
            out.push_back(at + " lies outside the scan (" + where + "): its coordinates or its seriesuid are wrong");
        }
    }
    return out;
}

}  // namespace nodulecad
