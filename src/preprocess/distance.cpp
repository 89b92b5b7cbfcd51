#include "nodulecad/preprocess/distance.hpp"

#include <algorithm>
#include <cmath>

namespace nodulecad {

namespace {

constexpr float kInf = 1e30f;

// 1D squared distance transform (Felzenszwalb & Huttenlocher): d[q] = min_p f[p] + w * (q - p)^2.
void transform_1d(const float* f, std::int64_t n, std::int64_t stride, float w, float* d, std::vector<std::int64_t>& v,
                  std::vector<float>& z, std::vector<float>& tmp) {
    v.resize(static_cast<std::size_t>(n));
    z.resize(static_cast<std::size_t>(n) + 1);
    tmp.resize(static_cast<std::size_t>(n));
    for (std::int64_t q = 0; q < n; ++q) tmp[static_cast<std::size_t>(q)] = f[q * stride];
    std::int64_t k = -1;
    for (std::int64_t q = 0; q < n; ++q) {
        const float fq = tmp[static_cast<std::size_t>(q)];
        if (fq >= kInf) continue;
        float s = 0;
        while (k >= 0) {
            const std::int64_t p = v[static_cast<std::size_t>(k)];
            const float fp = tmp[static_cast<std::size_t>(p)];
            s = ((fq + w * static_cast<float>(q * q)) - (fp + w * static_cast<float>(p * p))) / (2 * w * static_cast<float>(q - p));
            if (s > z[static_cast<std::size_t>(k)]) break;
            --k;
        }
        ++k;
        v[static_cast<std::size_t>(k)] = q;
        z[static_cast<std::size_t>(k)] = k == 0 ? -kInf : s;
        z[static_cast<std::size_t>(k) + 1] = kInf;
    }
    if (k < 0) {
        for (std::int64_t q = 0; q < n; ++q) d[q * stride] = kInf;
        return;
    }
    std::int64_t j = 0;
    for (std::int64_t q = 0; q < n; ++q) {
        while (z[static_cast<std::size_t>(j) + 1] < static_cast<float>(q)) ++j;
        const std::int64_t p = v[static_cast<std::size_t>(j)];
        d[q * stride] = w * static_cast<float>((q - p) * (q - p)) + tmp[static_cast<std::size_t>(p)];
    }
}

}  // namespace

void squared_distance_2d(const std::uint8_t* mask, std::int64_t nx, std::int64_t ny, double sx, double sy,
                         std::vector<float>& out) {
    out.resize(static_cast<std::size_t>(nx * ny));
    for (std::int64_t n = 0; n < nx * ny; ++n) out[static_cast<std::size_t>(n)] = mask[n] ? 0.f : kInf;
    thread_local std::vector<std::int64_t> v;
    thread_local std::vector<float> z, tmp;
    const auto wx = static_cast<float>(sx * sx), wy = static_cast<float>(sy * sy);
    for (std::int64_t j = 0; j < ny; ++j) transform_1d(out.data() + j * nx, nx, 1, wx, out.data() + j * nx, v, z, tmp);
    for (std::int64_t i = 0; i < nx; ++i) transform_1d(out.data() + i, ny, nx, wy, out.data() + i, v, z, tmp);
}

void close_slice(std::uint8_t* mask, std::int64_t nx, std::int64_t ny, double sx, double sy, double radius_mm) {
    thread_local std::vector<float> dist;
    thread_local std::vector<std::uint8_t> outside;
    const auto r2 = static_cast<float>(radius_mm * radius_mm);
    // Dilation: within radius of the mask. Keep the complement of the dilation for the erosion.
    squared_distance_2d(mask, nx, ny, sx, sy, dist);
    outside.resize(static_cast<std::size_t>(nx * ny));
    bool any_outside = false;
    for (std::int64_t n = 0; n < nx * ny; ++n) {
        outside[static_cast<std::size_t>(n)] = dist[static_cast<std::size_t>(n)] > r2 ? 1 : 0;
        any_outside |= outside[static_cast<std::size_t>(n)] != 0;
    }
    if (!any_outside) return;  // empty mask, or dilation covers everything: nothing to erode against
    // Erosion of the dilation: pixels farther than radius from anything outside it.
    squared_distance_2d(outside.data(), nx, ny, sx, sy, dist);
    for (std::int64_t n = 0; n < nx * ny; ++n)
        if (dist[static_cast<std::size_t>(n)] > r2) mask[n] = 1;
}

}  // namespace nodulecad
