#include "nodulecad/report/slice_view.hpp"

#include <algorithm>
#include <cmath>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/trilinear.hpp"

namespace nodulecad {

Vec3 volume_centre(const Geometry& g) {
    return IndexWorldTransform(g).to_world({(static_cast<double>(g.size[0]) - 1) / 2, (static_cast<double>(g.size[1]) - 1) / 2,
                                            (static_cast<double>(g.size[2]) - 1) / 2});
}

Image render_slice_view(const Volume<std::int16_t>& vol, const SliceViewOptions& o) {
    const Geometry& g = vol.geometry;
    if (o.overlay && !same_grid(o.overlay->geometry, g)) throw Error("overlay geometry differs from the volume's");
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

namespace {

// Draws the ring (or cross-hair) of a zoom view in yellow: pixels within half a pixel of the circle of `radius_px`,
// or of two lines through the centre outside a gap of `gap_px`.
void mark_finding(Image& im, double radius_px, double gap_px) {
    const double c = (im.width - 1) / 2.0;
    for (int r = 0; r < im.height; ++r)
        for (int col = 0; col < im.width; ++col) {
            const double dx = col - c, dy = r - c, d = std::hypot(dx, dy);
            const bool on = radius_px > 0 ? std::fabs(d - radius_px) < 0.75
                                          : (std::fabs(dx) < 0.75 || std::fabs(dy) < 0.75) && d > gap_px && d < 3 * gap_px;
            if (!on) continue;
            std::uint8_t* p = im.pixels.data() + (static_cast<std::size_t>(r) * static_cast<std::size_t>(im.width) + static_cast<std::size_t>(col)) * 3;
            p[0] = 250;
            p[1] = 204;
            p[2] = 21;
        }
}

}  // namespace

Image render_zoom_view(const Volume<std::int16_t>& vol, const ZoomViewOptions& o) {
    const Geometry& g = vol.geometry;
    if (o.overlay && !same_grid(o.overlay->geometry, g)) throw Error("overlay geometry differs from the volume's");
    if (!(o.window_hi > o.window_lo)) throw Error("window: the upper HU must be above the lower");
    if (!(o.field_mm > 0) || o.pixels < 8 || o.pixels > 4096) throw Error("zoom view: field must be positive and 8 to 4096 pixels");
    const int side = o.pixels;  // in [8, 4096] from here on
    const IndexWorldTransform t(g);
    const double pixel = o.field_mm / side, half = (side - 1) / 2.0;
    const double scale = 255.0 / (o.window_hi - o.window_lo);
    Image im;
    im.width = im.height = side;
    im.channels = 3;
    im.pixels.assign(static_cast<std::size_t>(side) * static_cast<std::size_t>(side) * 3, 0);
    for (int r = 0; r < side; ++r)
        for (int c = 0; c < side; ++c) {
            // Columns along world +x (the patient's left to the right of the picture), rows along +y (anterior at top).
            const Vec3 w{o.centre[0] + (c - half) * pixel, o.centre[1] + (r - half) * pixel, o.centre[2]};
            const Vec3 idx = t.to_index(w);
            const double hu = trilinear(vol, idx, -1000.0);
            const auto grey = static_cast<std::uint8_t>(std::clamp((hu - o.window_lo) * scale, 0.0, 255.0));
            bool tint = false;
            if (o.overlay) {
                const std::int64_t i = std::llround(idx[0]), j = std::llround(idx[1]), k = std::llround(idx[2]);
                tint = i >= 0 && j >= 0 && k >= 0 && i < g.size[0] && j < g.size[1] && k < g.size[2] && o.overlay->at(i, j, k) != 0;
            }
            std::uint8_t* p = im.pixels.data() + (static_cast<std::size_t>(r) * static_cast<std::size_t>(side) + static_cast<std::size_t>(c)) * 3;
            p[0] = tint ? static_cast<std::uint8_t>(std::min(255, grey / 2 + 128)) : grey;
            p[1] = tint ? static_cast<std::uint8_t>(grey / 2) : grey;
            p[2] = tint ? static_cast<std::uint8_t>(grey / 2) : grey;
        }
    const bool ring = std::isfinite(o.ring_diameter_mm) && o.ring_diameter_mm > 0;
    // The ring sits 2 mm outside the finding's edge, so it does not hide it.
    mark_finding(im, ring ? (o.ring_diameter_mm / 2 + 2) / pixel : 0, 4 / pixel);
    return im;
}

}  // namespace nodulecad
