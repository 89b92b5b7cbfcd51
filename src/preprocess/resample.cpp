#include "nodulecad/preprocess/resample.hpp"

#include <cmath>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/core/trilinear.hpp"

namespace nodulecad {

Geometry resampled_geometry(const Geometry& scan, const Vec3& spacing_mm) {
    Geometry g = scan;
    for (int a = 0; a < 3; ++a) {
        if (!(spacing_mm[a] > 0)) throw Error("resampling needs positive spacings, got " + std::to_string(spacing_mm[a]) + " mm");
        const double extent = static_cast<double>(scan.size[a] - 1) * scan.spacing[a];
        // A hair of tolerance so a grid that fits exactly (e.g. 2.5 mm slices at 0.5 mm) is not one voxel short.
        g.size[a] = static_cast<std::int64_t>(std::floor(extent / spacing_mm[a] + 1e-9)) + 1;
        g.spacing[a] = spacing_mm[a];
    }
    return g;
}

Volume<float> resample_to_spacing(const Volume<std::int16_t>& scan, const Vec3& spacing_mm, int threads) {
    const Geometry g = resampled_geometry(scan.geometry, spacing_mm);
    Volume<float> out(g, 0.f);
    // Same origin and direction: index i on the new grid is index i * spacing_mm / spacing on the scan's.
    const Vec3 step{spacing_mm[0] / scan.geometry.spacing[0], spacing_mm[1] / scan.geometry.spacing[1], spacing_mm[2] / scan.geometry.spacing[2]};
    const std::int64_t nx = g.size[0], ny = g.size[1];
    parallel_for(g.size[2], threads, [&](std::int64_t k) {
        float* slice = out.voxels.data() + static_cast<std::size_t>(k * nx * ny);
        for (std::int64_t j = 0; j < ny; ++j)
            for (std::int64_t i = 0; i < nx; ++i) {
                const Vec3 at{static_cast<double>(i) * step[0], static_cast<double>(j) * step[1], static_cast<double>(k) * step[2]};
                slice[j * nx + i] = static_cast<float>(trilinear(scan, at, -1000.0));
            }
    });
    return out;
}

}  // namespace nodulecad
