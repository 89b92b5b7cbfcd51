#include "nodulecad/preprocess/slice_grid.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "nodulecad/core/nonzero_box.hpp"

namespace nodulecad {

namespace {
struct WorldBox {
    double xlo, xhi, ylo, yhi;
};
// In-plane world bounding box of the mask's voxels (of the whole slice when the mask is empty).
WorldBox mask_box(const Volume<std::uint8_t>& mask) {
    const Geometry& g = mask.geometry;
    const IndexBox box = nonzero_box(mask);
    std::int64_t i0 = box.lo[0], i1 = box.hi[0] - 1, j0 = box.lo[1], j1 = box.hi[1] - 1;
    if (box.empty()) i0 = 0, i1 = g.size[0] - 1, j0 = 0, j1 = g.size[1] - 1;
    const IndexWorldTransform t(g);
    WorldBox b{1e300, -1e300, 1e300, -1e300};
    for (int c = 0; c < 4; ++c) {
        const Vec3 w = t.to_world({static_cast<double>((c & 1) ? i1 : i0), static_cast<double>((c & 2) ? j1 : j0), 0});
        b.xlo = std::min(b.xlo, w[0]);
        b.xhi = std::max(b.xhi, w[0]);
        b.ylo = std::min(b.ylo, w[1]);
        b.yhi = std::max(b.yhi, w[1]);
    }
    return b;
}
}  // namespace

SliceGrid grid_around(const Volume<std::uint8_t>& mask, int size, double pixel) {
    const WorldBox b = mask_box(mask);
    const double half = (size - 1) / 2.0 * pixel;
    return {(b.xlo + b.xhi) / 2 - half, (b.ylo + b.yhi) / 2 - half, pixel, size};
}

SliceGrid grid_fitted(const Volume<std::uint8_t>& mask, double pixel, int multiple, double margin_mm) {
    const WorldBox b = mask_box(mask);
    const double extent = std::max(b.xhi - b.xlo, b.yhi - b.ylo) + 2 * margin_mm;
    const int m = std::max(1, multiple);
    const int size = std::max(m, static_cast<int>(std::ceil(extent / pixel / m)) * m);
    const double half = (size - 1) / 2.0 * pixel;
    return {(b.xlo + b.xhi) / 2 - half, (b.ylo + b.yhi) / 2 - half, pixel, size};
}

double slice_world_z(const Geometry& g, std::int64_t k) {
    return index_to_world(g, {(static_cast<double>(g.size[0]) - 1) / 2, (static_cast<double>(g.size[1]) - 1) / 2, static_cast<double>(k)})[2];
}

namespace {
// Continuous in-plane index of grid pixel (u, v) on slice k: base + u * du + v * dv (the map is affine).
struct GridMap {
    Vec3 base, du, dv;
    GridMap(const Geometry& g, const SliceGrid& grid, std::int64_t k) {
        const IndexWorldTransform t(g);
        base = t.to_index({grid.x0, grid.y0, slice_world_z(g, k)});
        du = multiply(t.world_to_index_matrix(), Vec3{grid.pixel, 0, 0});
        dv = multiply(t.world_to_index_matrix(), Vec3{0, grid.pixel, 0});
    }
    void at(std::size_t u, std::size_t v, double& fi, double& fj) const {
        fi = base[0] + static_cast<double>(u) * du[0] + static_cast<double>(v) * dv[0];
        fj = base[1] + static_cast<double>(u) * du[1] + static_cast<double>(v) * dv[1];
    }
};
}  // namespace

void sample_image(const Volume<std::int16_t>& scan, const Volume<std::uint8_t>* lungs, const SliceGrid& grid, std::int64_t k,
                  const WindowOptions& w, float* out) {
    const Geometry& g = scan.geometry;
    const std::int64_t nx = g.size[0], ny = g.size[1], nz = g.size[2];
    const std::size_t plane = static_cast<std::size_t>(nx * ny), S = static_cast<std::size_t>(grid.size);
    const GridMap map(g, grid, k);
    const double scale = 1.0 / (w.hi - w.lo);
    const int channels = 2 * w.context + 1;
    // Every channel's slice, and its lung mask's, at the same in-plane point: where a pixel falls is worked out once
    // and read on all of them (the same arithmetic per channel as one at a time, so the same values).
    std::vector<const std::int16_t*> hu(static_cast<std::size_t>(channels));
    std::vector<const std::uint8_t*> lung(static_cast<std::size_t>(channels), nullptr);
    for (int c = 0; c < channels; ++c) {
        const std::int64_t kk = std::clamp<std::int64_t>(k + c - w.context, 0, nz - 1);
        hu[static_cast<std::size_t>(c)] = scan.voxels.data() + static_cast<std::size_t>(kk) * plane;
        if (lungs) lung[static_cast<std::size_t>(c)] = lungs->voxels.data() + static_cast<std::size_t>(kk) * plane;
    }
    const bool masked = w.mask_lungs && lungs;
    for (std::size_t v = 0; v < S; ++v)
        for (std::size_t u = 0; u < S; ++u) {
            double fi, fj;
            map.at(u, v, fi, fj);
            const auto ii = static_cast<std::int64_t>(std::floor(fi)), jj = static_cast<std::int64_t>(std::floor(fj));
            const double ti = fi - static_cast<double>(ii), tj = fj - static_cast<double>(jj);
            const bool inside = ii >= 0 && jj >= 0 && ii + 1 < nx && jj + 1 < ny;
            std::int64_t nearest = -1;  // the nearest voxel's offset in the plane, -1 outside the scan
            if (masked) {
                const std::int64_t ni = std::llround(fi), nj = std::llround(fj);
                if (ni >= 0 && nj >= 0 && ni < nx && nj < ny) nearest = nj * nx + ni;
            }
            for (int c = 0; c < channels; ++c) {
                const std::int16_t* h = hu[static_cast<std::size_t>(c)];
                const auto at = [&](std::int64_t i, std::int64_t j) {
                    return !inside && (i < 0 || j < 0 || i >= nx || j >= ny) ? -1000.0 : static_cast<double>(h[j * nx + i]);
                };
                double value = (1 - tj) * ((1 - ti) * at(ii, jj) + ti * at(ii + 1, jj)) + tj * ((1 - ti) * at(ii, jj + 1) + ti * at(ii + 1, jj + 1));
                value = std::clamp((value - w.lo) * scale, 0.0, 1.0);
                if (masked && (nearest < 0 || !lung[static_cast<std::size_t>(c)][nearest])) value = 0;
                out[static_cast<std::size_t>(c) * S * S + v * S + u] = static_cast<float>(value);
            }
        }
}

void sample_mask(const Volume<std::uint8_t>& mask, const SliceGrid& grid, std::int64_t k, std::uint8_t* out) {
    const Geometry& g = mask.geometry;
    const std::int64_t nx = g.size[0], ny = g.size[1];
    const std::uint8_t* m = mask.voxels.data() + static_cast<std::size_t>(k * nx * ny);
    const std::size_t S = static_cast<std::size_t>(grid.size);
    const GridMap map(g, grid, k);
    for (std::size_t v = 0; v < S; ++v)
        for (std::size_t u = 0; u < S; ++u) {
            double fi, fj;
            map.at(u, v, fi, fj);
            const std::int64_t ni = std::llround(fi), nj = std::llround(fj);
            out[v * S + u] = ni >= 0 && nj >= 0 && ni < nx && nj < ny && m[nj * nx + ni] ? 1 : 0;
        }
}

void unsample_slice(const float* values, const SliceGrid& grid, const Geometry& g, std::int64_t k, float* out) {
    const IndexWorldTransform t(g);
    const std::int64_t nx = g.size[0], ny = g.size[1], S = grid.size;
    // The map from scan index to grid (u, v) is affine: per row, its start and its step along i.
    const Vec3 along_i = multiply(t.index_to_world_matrix(), Vec3{1, 0, 0});
    const double du = along_i[0] / grid.pixel, dv = along_i[1] / grid.pixel, last = static_cast<double>(S - 1);
    for (std::int64_t j = 0; j < ny; ++j) {
        const Vec3 w0 = t.to_world({0, static_cast<double>(j), static_cast<double>(k)});
        const double u0 = (w0[0] - grid.x0) / grid.pixel, v0 = (w0[1] - grid.y0) / grid.pixel;
        for (std::int64_t i = 0; i < nx; ++i) {
            const double fu = u0 + static_cast<double>(i) * du, fv = v0 + static_cast<double>(i) * dv;
            float value = 0;
            if (fu >= 0 && fv >= 0 && fu <= last && fv <= last) {
                const auto u = std::min<std::int64_t>(static_cast<std::int64_t>(fu), S - 2), v = std::min<std::int64_t>(static_cast<std::int64_t>(fv), S - 2);
                const auto tu = static_cast<float>(fu - static_cast<double>(u)), tv = static_cast<float>(fv - static_cast<double>(v));
                const float* r0 = values + v * S + u;
                const float* r1 = r0 + S;
                value = (1 - tv) * ((1 - tu) * r0[0] + tu * r0[1]) + tv * ((1 - tu) * r1[0] + tu * r1[1]);
            }
            out[j * nx + i] = value;
        }
    }
}

}  // namespace nodulecad
