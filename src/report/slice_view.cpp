#include "report/slice_view.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace nodulecad {

std::optional<Plane> plane_from_name(std::string_view name) {
    if (name == "axial") return Plane::Axial;
    if (name == "coronal") return Plane::Coronal;
    if (name == "sagittal") return Plane::Sagittal;
    return std::nullopt;
}

Vec3 volume_centre(const Geometry& g) {
    return IndexWorldTransform(g).to_world({(static_cast<double>(g.size[0]) - 1) / 2, (static_cast<double>(g.size[1]) - 1) / 2,
                                            (static_cast<double>(g.size[2]) - 1) / 2});
}

Image render_slice_view(const Volume<std::int16_t>& vol, const SliceViewOptions& o) {
    const Geometry& g = vol.geometry;
    if (o.overlay && o.overlay->geometry != g) throw Error("overlay geometry differs from the volume's");
    if (!(o.window_hi > o.window_lo)) throw Error("window: the upper HU must be above the lower");
    const IndexWorldTransform t(g);
    // World bounding box of the volume.
    Vec3 lo{1e300, 1e300, 1e300}, hi{-1e300, -1e300, -1e300};
    for (int c = 0; c < 8; ++c) {
        const Vec3 w = t.to_world({(c & 1) ? static_cast<double>(g.size[0]) - 1 : 0.0, (c & 2) ? static_cast<double>(g.size[1]) - 1 : 0.0,
                                   (c & 4) ? static_cast<double>(g.size[2]) - 1 : 0.0});
        for (int a = 0; a < 3; ++a) {
            lo[a] = std::min(lo[a], w[a]);
            hi[a] = std::max(hi[a], w[a]);
        }
    }
    // Display axes: (u, v) world axes for columns and rows, with the row axis pointing down the picture.
    int ua = 0, va = 1;
    double vsign = 1;  // +1: world grows downwards (axial y: anterior at top); -1: superior at top
    if (o.plane == Plane::Coronal) { ua = 0; va = 2; vsign = -1; }
    if (o.plane == Plane::Sagittal) { ua = 1; va = 2; vsign = -1; }
    const double pixel = std::min(g.spacing[0], g.spacing[1]);  // in-plane resolution; z is resampled to it
    Image im;
    im.width = static_cast<int>(std::lround((hi[ua] - lo[ua]) / pixel)) + 1;
    im.height = static_cast<int>(std::lround((hi[va] - lo[va]) / pixel)) + 1;
    if (im.width > 8192 || im.height > 8192) throw Error("slice view would exceed 8192 pixels");
    im.channels = 3;
    im.pixels.assign(static_cast<std::size_t>(im.width) * static_cast<std::size_t>(im.height) * 3, 0);
    const double scale = 255.0 / (o.window_hi - o.window_lo);
    for (int r = 0; r < im.height; ++r)
        for (int c = 0; c < im.width; ++c) {
            Vec3 w = o.world_point;
            w[static_cast<std::size_t>(ua)] = lo[ua] + c * pixel;
            w[static_cast<std::size_t>(va)] = vsign > 0 ? lo[va] + r * pixel : hi[va] - r * pixel;
            const Vec3 idx = t.to_index(w);
            const std::int64_t i = std::llround(idx[0]), j = std::llround(idx[1]), k = std::llround(idx[2]);
            std::uint8_t grey = 0;
            bool tint = false;
            if (i >= 0 && j >= 0 && k >= 0 && i < g.size[0] && j < g.size[1] && k < g.size[2]) {
                grey = static_cast<std::uint8_t>(std::clamp((vol.at(i, j, k) - o.window_lo) * scale, 0.0, 255.0));
                tint = o.overlay && o.overlay->at(i, j, k) != 0;
            }
            std::uint8_t* p = im.pixels.data() + (static_cast<std::size_t>(r) * static_cast<std::size_t>(im.width) + static_cast<std::size_t>(c)) * 3;
            p[0] = tint ? static_cast<std::uint8_t>(std::min(255, grey / 2 + 128)) : grey;
            p[1] = tint ? static_cast<std::uint8_t>(grey / 2) : grey;
            p[2] = tint ? static_cast<std::uint8_t>(grey / 2) : grey;
        }
    return im;
}

}  // namespace nodulecad
