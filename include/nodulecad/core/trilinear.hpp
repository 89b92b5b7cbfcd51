#pragma once
// Trilinear interpolation of a volume at a continuous index (i, j, k), the sampling every resampler of scans uses
// (FP-reduction cubes, report zooms). Voxels outside the volume count as `outside` (air, for CT).
#include <cmath>
#include <cstdint>

#include "nodulecad/core/volume.hpp"

namespace nodulecad {

// The same at a continuous index of any voxel reader: at(i, j, k) -> double, for every integer index (outside too).
template <class At> double trilinear_at(const At& at, const Vec3& index) {
    const double fi = std::floor(index[0]), fj = std::floor(index[1]), fk = std::floor(index[2]);
    const double ti = index[0] - fi, tj = index[1] - fj, tk = index[2] - fk;
    const auto i = static_cast<std::int64_t>(fi), j = static_cast<std::int64_t>(fj), k = static_cast<std::int64_t>(fk);
    double sum = 0;
    for (int dk = 0; dk < 2; ++dk)
        for (int dj = 0; dj < 2; ++dj)
            for (int di = 0; di < 2; ++di) {
                const double w = (di ? ti : 1 - ti) * (dj ? tj : 1 - tj) * (dk ? tk : 1 - tk);
                if (w > 0) sum += w * at(i + di, j + dj, k + dk);
            }
    return sum;
}

template <class T> double trilinear(const Volume<T>& v, const Vec3& index, double outside) {
    const auto nx = v.geometry.size[0], ny = v.geometry.size[1], nz = v.geometry.size[2];
    return trilinear_at(
        [&](std::int64_t i, std::int64_t j, std::int64_t k) -> double {
            if (i < 0 || j < 0 || k < 0 || i >= nx || j >= ny || k >= nz) return outside;
            return static_cast<double>(v.voxels[static_cast<std::size_t>((k * ny + j) * nx + i)]);
        },
        index);
}

}  // namespace nodulecad
