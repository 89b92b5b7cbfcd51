#include "nodulecad/train/patch_place.hpp"

#include <cstdint>
#include <utility>

#include "nodulecad/core/trilinear.hpp"

namespace nodulecad {

namespace {

// The symmetry alone, within the patch: output voxel -> unflipped patch voxel, and its inverse.
std::array<double, 3> unflip(const PatchPlace& p, int side, std::array<double, 3> q) {
    for (std::size_t a = 0; a < 3; ++a)
        if (p.flip[a]) q[a] = side - 1 - q[a];
    if (p.swap_xy) std::swap(q[0], q[1]);
    return q;
}
std::array<double, 3> flip(const PatchPlace& p, int side, std::array<double, 3> q) {
    if (p.swap_xy) std::swap(q[0], q[1]);
    for (std::size_t a = 0; a < 3; ++a)
        if (p.flip[a]) q[a] = side - 1 - q[a];
    return q;
}

}  // namespace

// At scale 1 the arithmetic is the plain offset (no detour through the centre), so that unzoomed patches are the
// very voxels and target positions they were before zooming existed.
std::array<double, 3> patch_to_box(const PatchPlace& p, int side, std::array<double, 3> q) {
    q = unflip(p, side, q);
    const double c = 0.5 * (side - 1);
    for (std::size_t a = 0; a < 3; ++a) {
        const double local = p.scale == 1 ? q[a] : c + (q[a] - c) * p.scale;
        q[a] = static_cast<double>(p.origin[a]) + local;
    }
    return q;
}

std::array<double, 3> box_to_patch(const PatchPlace& p, int side, std::array<double, 3> b) {
    const double c = 0.5 * (side - 1);
    for (std::size_t a = 0; a < 3; ++a) {
        const double local = b[a] - static_cast<double>(p.origin[a]);
        b[a] = p.scale == 1 ? local : c + (local - c) / p.scale;
    }
    return flip(p, side, b);
}

PatchNodule nodule_in_patch(const PatchPlace& p, int side, const std::array<double, 3>& index, double diameter_mm) {
    return {box_to_patch(p, side, index), diameter_mm / p.scale};
}

void sample_patch(const PatchPlace& p, int side, const BoxView& box, float* out) {
    const auto P = static_cast<std::size_t>(side);
    for (int z = 0; z < side; ++z)
        for (int y = 0; y < side; ++y)
            for (int x = 0; x < side; ++x) {
                const auto b = patch_to_box(p, side, {static_cast<double>(x), static_cast<double>(y), static_cast<double>(z)});
                float v;
                if (p.scale == 1) {
                    v = static_cast<float>(box.at(static_cast<std::int64_t>(b[0]), static_cast<std::int64_t>(b[1]), static_cast<std::int64_t>(b[2])));
                } else {
                    v = static_cast<float>(trilinear_at(
                        [&box](std::int64_t i, std::int64_t j, std::int64_t k) { return static_cast<double>(box.at(i, j, k)); }, b));
                }
                float value = v / 127.5f - 1.f;
                if (p.contrast != 1) value = (value + 1.f) * static_cast<float>(p.contrast) - 1.f;
                out[(static_cast<std::size_t>(z) * P + static_cast<std::size_t>(y)) * P + static_cast<std::size_t>(x)] = value;
            }
}

}  // namespace nodulecad
