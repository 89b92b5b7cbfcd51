#include "preprocess/lung_segmentation.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.hpp"
#include "core/threads.hpp"
#include "preprocess/components.hpp"
#include "preprocess/distance.hpp"

namespace nodulecad {

namespace {

std::size_t plane_size(const Geometry& g) { return static_cast<std::size_t>(g.size[0] * g.size[1]); }

// Slice order from the top (most superior world z) down, whatever the direction matrix says.
std::vector<std::int64_t> slices_top_down(const Geometry& g) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(g.size[2]));
    std::iota(order.begin(), order.end(), 0);
    const double dz = g.direction[8] * g.spacing[2];  // world z change per k (for axial scans)
    if (dz > 0) std::reverse(order.begin(), order.end());
    return order;
}

// Air inside the body: below the threshold, not connected in-plane to the slice border (outside air, padding).
Volume<std::uint8_t> inner_air(const Volume<std::int16_t>& scan, double threshold, int threads) {
    const Geometry& g = scan.geometry;
    Volume<std::uint8_t> air(g, 0);
    const std::int64_t nx = g.size[0], ny = g.size[1];
    const auto t = static_cast<std::int16_t>(std::clamp(threshold, -32768.0, 32767.0));
    parallel_for(g.size[2], threads, [&](std::int64_t k) {
        std::uint8_t* a = air.voxels.data() + static_cast<std::size_t>(k) * plane_size(g);
        const std::int16_t* s = scan.voxels.data() + static_cast<std::size_t>(k) * plane_size(g);
        for (std::size_t n = 0; n < plane_size(g); ++n) a[n] = s[n] < t ? 1 : 0;
        const Components c = label_slice(a, nx, ny);
        std::vector<bool> border(static_cast<std::size_t>(c.count), false);
        for (std::size_t r = 0; r < c.runs.size(); ++r) {
            const Run& run = c.runs[r];
            if (run.row == 0 || run.row == ny - 1 || run.x0 == 0 || run.x1 == nx) border[static_cast<std::size_t>(c.label[r])] = true;
        }
        paint(c, border, a, 0);
    });
    return air;
}

// Trachea and main bronchi: found in the top slices as the air component nearest the middle, followed down slice by
// slice through components that overlap it and stay tube-sized; a component that suddenly grows is lung (the
// bronchus has entered the hilum) and ends the branch. The airway voxels are moved from `air` to `airway`;
// returns how many.
std::int64_t remove_airways(Volume<std::uint8_t>& air, Volume<std::uint8_t>& airway, int threads) {
    const Geometry& g = air.geometry;
    const std::int64_t nx = g.size[0], ny = g.size[1];
    const double pixel_mm2 = g.spacing[0] * g.spacing[1];
    const auto order = slices_top_down(g);
    std::vector<Components> comps(static_cast<std::size_t>(g.size[2]));
    parallel_for(g.size[2], threads, [&](std::int64_t k) {
        comps[static_cast<std::size_t>(k)] = label_slice(air.voxels.data() + static_cast<std::size_t>(k) * plane_size(g), nx, ny);
    });
    const auto area = [&](const Components& c, std::int32_t l) { return static_cast<double>(c.size[static_cast<std::size_t>(l)]) * pixel_mm2; };
    const auto centroid_x = [&](const Components& c, std::int32_t l) {
        double sx = 0, n = 0;
        for (std::size_t r = 0; r < c.runs.size(); ++r)
            if (c.label[r] == l) {
                const double len = c.runs[r].x1 - c.runs[r].x0;
                sx += len * (c.runs[r].x0 + c.runs[r].x1 - 1) / 2.0;
                n += len;
            }
        return n > 0 ? sx / n : 0.0;
    };
    // Seed: within the top tenth of the scan, the first slice holding a tube-sized component (30-800 mm^2), the one
    // nearest the image's middle column. The lung apices, where present, are lateral.
    std::vector<bool> current;
    std::size_t start = 0;
    const std::size_t search = std::max<std::size_t>(3, order.size() / 10);
    for (std::size_t s = 0; s < std::min(search, order.size()) && current.empty(); ++s) {
        const Components& c = comps[static_cast<std::size_t>(order[s])];
        std::int32_t best = -1;
        double best_d = 1e300;
        for (std::int32_t l = 0; l < c.count; ++l) {
            const double a = area(c, l);
            if (a < 30 || a > 800) continue;
            const double d = std::fabs(centroid_x(c, l) - (static_cast<double>(nx) - 1) / 2);
            if (d < best_d && d * g.spacing[0] < 40) {
                best_d = d;
                best = l;
            }
        }
        if (best >= 0) {
            current.assign(static_cast<std::size_t>(c.count), false);
            current[static_cast<std::size_t>(best)] = true;
            start = s;
        }
    }
    if (current.empty()) return 0;

    std::int64_t removed = 0;
    std::vector<std::uint8_t> prev_mask(plane_size(g), 0);
    for (std::size_t s = start; s < order.size(); ++s) {
        const std::int64_t k = order[s];
        const Components& c = comps[static_cast<std::size_t>(k)];
        std::uint8_t* slice = air.voxels.data() + static_cast<std::size_t>(k) * plane_size(g);
        if (s > start) {
            // Components of this slice overlapping last slice's airway, with the airway area they overlap.
            std::vector<double> overlap_area(static_cast<std::size_t>(c.count), 0.0), parent_area(static_cast<std::size_t>(c.count), 0.0);
            for (std::size_t r = 0; r < c.runs.size(); ++r) {
                const Run& run = c.runs[r];
                const std::uint8_t* prow = prev_mask.data() + run.row * nx;
                std::int64_t hits = 0;
                for (std::int32_t x = run.x0; x < run.x1; ++x) hits += prow[x];
                overlap_area[static_cast<std::size_t>(c.label[r])] += static_cast<double>(hits) * pixel_mm2;
            }
            double prev_total = 0;
            for (auto v : prev_mask) prev_total += v;
            prev_total *= pixel_mm2;
            current.assign(static_cast<std::size_t>(c.count), false);
            bool any = false;
            for (std::int32_t l = 0; l < c.count; ++l) {
                if (overlap_area[static_cast<std::size_t>(l)] <= 0) continue;
                // Tube-sized and not much bigger than the airway above it: still airway.
                if (area(c, l) <= 1000 && area(c, l) <= 2.5 * prev_total + 50) {
                    current[static_cast<std::size_t>(l)] = true;
                    any = true;
                }
            }
            if (!any) break;
        }
        std::fill(prev_mask.begin(), prev_mask.end(), 0);
        paint(c, current, prev_mask.data(), 1);
        for (std::int32_t l = 0; l < c.count; ++l)
            if (current[static_cast<std::size_t>(l)]) removed += c.size[static_cast<std::size_t>(l)];
        paint(c, current, slice, 0);
        paint(c, current, airway.voxels.data() + static_cast<std::size_t>(k) * plane_size(g), 1);
    }
    return removed;
}

// Fills holes (background components not touching the slice border) up to max_pixels in one slice.
void fill_holes_slice(std::uint8_t* mask, std::int64_t nx, std::int64_t ny, std::int64_t max_pixels) {
    thread_local std::vector<std::uint8_t> inv;
    inv.resize(static_cast<std::size_t>(nx * ny));
    for (std::int64_t n = 0; n < nx * ny; ++n) inv[static_cast<std::size_t>(n)] = mask[n] ? 0 : 1;
    const Components c = label_slice(inv.data(), nx, ny);
    std::vector<bool> fill(static_cast<std::size_t>(c.count), true);
    for (std::size_t r = 0; r < c.runs.size(); ++r) {
        const Run& run = c.runs[r];
        const auto l = static_cast<std::size_t>(c.label[r]);
        if (run.row == 0 || run.row == ny - 1 || run.x0 == 0 || run.x1 == nx || c.size[l] > max_pixels) fill[l] = false;
    }
    paint(c, fill, mask, 1);
}

// Closes each 2D component of the slice on its own, inside its bounding box grown by the radius: the two lungs
// are never bridged across the mediastinum, and the distance transforms run on small boxes.
void close_components_slice(std::uint8_t* mask, std::int64_t nx, std::int64_t ny, double sx, double sy, double radius_mm) {
    const Components c = label_slice(mask, nx, ny);
    if (c.count == 0) return;
    struct Box {
        std::int64_t x0, x1, y0, y1;
    };
    std::vector<Box> box(static_cast<std::size_t>(c.count), Box{nx, -1, ny, -1});
    for (std::size_t r = 0; r < c.runs.size(); ++r) {
        Box& b = box[static_cast<std::size_t>(c.label[r])];
        b.x0 = std::min<std::int64_t>(b.x0, c.runs[r].x0);
        b.x1 = std::max<std::int64_t>(b.x1, c.runs[r].x1);
        b.y0 = std::min(b.y0, c.runs[r].row);
        b.y1 = std::max(b.y1, c.runs[r].row + 1);
    }
    const auto mx = static_cast<std::int64_t>(std::ceil(radius_mm / sx)) + 2, my = static_cast<std::int64_t>(std::ceil(radius_mm / sy)) + 2;
    thread_local std::vector<std::uint8_t> sub;
    std::vector<std::uint8_t> added(static_cast<std::size_t>(nx * ny), 0);
    for (std::int32_t l = 0; l < c.count; ++l) {
        const Box& b = box[static_cast<std::size_t>(l)];
        const std::int64_t x0 = std::max<std::int64_t>(0, b.x0 - mx), x1 = std::min(nx, b.x1 + mx);
        const std::int64_t y0 = std::max<std::int64_t>(0, b.y0 - my), y1 = std::min(ny, b.y1 + my);
        const std::int64_t w = x1 - x0, h = y1 - y0;
        sub.assign(static_cast<std::size_t>(w * h), 0);
        for (std::size_t r = 0; r < c.runs.size(); ++r)
            if (c.label[r] == l)
                for (std::int32_t x = c.runs[r].x0; x < c.runs[r].x1; ++x) sub[static_cast<std::size_t>((c.runs[r].row - y0) * w + (x - x0))] = 1;
        close_slice(sub.data(), w, h, sx, sy, radius_mm);
        for (std::int64_t y = 0; y < h; ++y)
            for (std::int64_t x = 0; x < w; ++x)
                if (sub[static_cast<std::size_t>(y * w + x)]) added[static_cast<std::size_t>((y + y0) * nx + x + x0)] = 1;
    }
    for (std::int64_t n = 0; n < nx * ny; ++n) mask[n] |= added[static_cast<std::size_t>(n)];
}

}  // namespace

LungSegmentation segment_lungs_robust(const Volume<std::int16_t>& scan, const LungSegmentationOptions& opts) {
    const Geometry& g = scan.geometry;
    validate(g, "scan");
    const int threads = std::max(1, opts.threads);
    LungSegmentation out;
    Volume<std::uint8_t> air = inner_air(scan, opts.air_threshold_hu, threads);
    Volume<std::uint8_t> airway(g, 0);
    out.airway_voxels = remove_airways(air, airway, threads);

    // Lungs: the 3D air components big enough to be lung. The largest always; others of at least 2 % of it whose
    // z range overlaps the largest one's (a much smaller second lung, not gas below the diaphragm).
    const Components c = label_volume(air, threads);
    const double voxel_ml = g.spacing[0] * g.spacing[1] * g.spacing[2] / 1000;
    std::vector<bool> keep(static_cast<std::size_t>(c.count), false);
    if (c.count > 0) {
        std::vector<std::int64_t> zlo(static_cast<std::size_t>(c.count), g.size[2]), zhi(static_cast<std::size_t>(c.count), -1);
        for (std::size_t r = 0; r < c.runs.size(); ++r) {
            const auto l = static_cast<std::size_t>(c.label[r]);
            const std::int64_t k = c.runs[r].row / g.size[1];
            zlo[l] = std::min(zlo[l], k);
            zhi[l] = std::max(zhi[l], k);
        }
        const auto largest = static_cast<std::size_t>(std::max_element(c.size.begin(), c.size.end()) - c.size.begin());
        const double largest_ml = static_cast<double>(c.size[largest]) * voxel_ml;
        for (std::size_t l = 0; l < static_cast<std::size_t>(c.count); ++l) {
            const double ml = static_cast<double>(c.size[l]) * voxel_ml;
            const double overlap = static_cast<double>(std::min(zhi[l], zhi[largest]) - std::max(zlo[l], zlo[largest]) + 1);
            const bool in_chest = overlap >= 0.5 * static_cast<double>(zhi[l] - zlo[l] + 1);
            if (ml >= opts.min_lung_ml && (l == largest || (ml >= 0.02 * largest_ml && in_chest))) {
                keep[l] = true;
                ++out.components;
            }
        }
    }
    out.mask = Volume<std::uint8_t>(g, 0);
    paint(c, keep, out.mask.voxels.data(), 1);
    if (out.components == 0) {
        out.warnings.push_back("no lungs found (no air component of at least " + std::to_string(opts.min_lung_ml) + " ml inside the body)");
        return out;
    }

    // Vessels and nodules: fill enclosed holes, close each component by a disc (juxtapleural nodules, hilar
    // notches), fill again. Airway lumen voxels stay out.
    air = Volume<std::uint8_t>();  // free it
    const std::int64_t nx = g.size[0], ny = g.size[1];
    const auto max_hole = static_cast<std::int64_t>(opts.max_hole_mm2 / (g.spacing[0] * g.spacing[1]));
    parallel_for(g.size[2], threads, [&](std::int64_t k) {
        std::uint8_t* m = out.mask.voxels.data() + static_cast<std::size_t>(k) * plane_size(g);
        bool any = false;
        for (std::size_t n = 0; n < plane_size(g) && !any; ++n) any = m[n] != 0;
        if (!any) return;
        fill_holes_slice(m, nx, ny, max_hole);
        if (opts.closing_radius_mm > 0) close_components_slice(m, nx, ny, g.spacing[0], g.spacing[1], opts.closing_radius_mm);
        fill_holes_slice(m, nx, ny, max_hole);
        const std::uint8_t* a = airway.voxels.data() + static_cast<std::size_t>(k) * plane_size(g);
        for (std::size_t n = 0; n < plane_size(g); ++n) m[n] &= static_cast<std::uint8_t>(a[n] ^ 1);
    });
    return out;
}

}  // namespace nodulecad

namespace nodulecad {

namespace {

// Binary erosion or dilation of a slice by a size x size square, offsets -(size/2) .. size-1-size/2 on each axis
// (where an even-sized footprint is anchored in scikit-image), as two 1D running-window passes.
void square_filter(std::vector<std::uint8_t>& m, std::int64_t nx, std::int64_t ny, int size, bool erode) {
    const std::int64_t lo = size / 2, hi = size - 1 - size / 2;
    std::vector<std::uint8_t> tmp(m.size());
    const auto pass = [&](const std::vector<std::uint8_t>& in, std::vector<std::uint8_t>& out, std::int64_t n, std::int64_t lines,
                          std::int64_t step, std::int64_t line_step) {
        for (std::int64_t l = 0; l < lines; ++l) {
            const std::uint8_t* src = in.data() + l * line_step;
            std::uint8_t* dst = out.data() + l * line_step;
            // Window [i - lo, i + hi]; outside the image counts as background for dilation and foreground for
            // erosion (as scipy.ndimage's default border_value=0 erodes from the border, we follow it: background).
            std::int64_t count = 0;
            for (std::int64_t i = -lo; i < hi && i < n; ++i)
                if (i >= 0) count += src[i * step];
            for (std::int64_t i = 0; i < n; ++i) {
                const std::int64_t enter = i + hi, leave = i - lo - 1;
                if (enter < n) count += src[enter * step];
                if (leave >= 0) count -= src[leave * step];
                dst[i * step] = erode ? (count == size ? 1 : 0) : (count > 0 ? 1 : 0);
            }
        }
    };
    pass(m, tmp, nx, ny, 1, nx);
    pass(tmp, m, ny, nx, nx, 1);
}

}  // namespace

LungSegmentation segment_lungs_seed(const Volume<std::int16_t>& scan, int threads) {
    const Geometry& g = scan.geometry;
    validate(g, "scan");
    const std::int64_t nx = g.size[0], ny = g.size[1];
    const double f = static_cast<double>(nx) / 512.0;  // the recipe's pixel numbers are for 512 x 512 slices
    const auto px = [&](double v) { return static_cast<std::int64_t>(std::lround(v * f)); };
    const int erode_size = static_cast<int>(std::max<std::int64_t>(1, px(4))), dilate_size = static_cast<int>(std::max<std::int64_t>(1, px(10)));
    LungSegmentation out;
    out.mask = Volume<std::uint8_t>(g, 0);
    parallel_for(g.size[2], std::max(1, threads), [&](std::int64_t k) {
        const std::int16_t* s = scan.voxels.data() + static_cast<std::size_t>(k) * plane_size(g);
        const std::size_t n = plane_size(g);
        // 1. z-score the slice.
        std::vector<double> img(n);
        double mean = 0, sq = 0;
        for (std::size_t i = 0; i < n; ++i) mean += s[i];
        mean /= static_cast<double>(n);
        for (std::size_t i = 0; i < n; ++i) sq += (s[i] - mean) * (s[i] - mean);
        const double sd = std::sqrt(sq / static_cast<double>(n));
        for (std::size_t i = 0; i < n; ++i) img[i] = sd > 0 ? (s[i] - mean) / sd : 0;
        // 2-3. The central region; slice max and min values replaced by its mean.
        const std::int64_t r0 = px(100), r1 = std::min(ny, px(400)), c0 = px(100), c1 = std::min(nx, px(400));
        double mid_mean = 0;
        std::vector<double> middle;
        for (std::int64_t r = r0; r < r1; ++r)
            for (std::int64_t c = c0; c < c1; ++c) middle.push_back(img[static_cast<std::size_t>(r * nx + c)]);
        if (middle.empty()) return;
        for (double v : middle) mid_mean += v;
        mid_mean /= static_cast<double>(middle.size());
        const auto [mn, mx] = std::minmax_element(img.begin(), img.end());
        const double vmin = *mn, vmax = *mx;
        for (double& v : img)
            if (v == vmax || v == vmin) v = mid_mean;
        for (double& v : middle)
            if (v == vmax || v == vmin) v = mid_mean;
        // 4. Two-means on the central pixels (deterministic: centres start at its min and max), threshold between.
        const auto [cmin, cmax] = std::minmax_element(middle.begin(), middle.end());
        double lo = *cmin, hi = *cmax;
        for (int it = 0; it < 100; ++it) {
            double s0 = 0, s1 = 0;
            std::int64_t n0 = 0, n1 = 0;
            const double cut = (lo + hi) / 2;
            for (double v : middle) (v < cut ? (s0 += v, ++n0) : (s1 += v, ++n1));
            const double nlo = n0 ? s0 / static_cast<double>(n0) : lo, nhi = n1 ? s1 / static_cast<double>(n1) : hi;
            if (nlo == lo && nhi == hi) break;
            lo = nlo;
            hi = nhi;
        }
        const double threshold = (lo + hi) / 2;
        std::vector<std::uint8_t> m(n);
        for (std::size_t i = 0; i < n; ++i) m[i] = img[i] < threshold ? 1 : 0;
        // 5. Erosion 4x4, dilation 10x10.
        square_filter(m, nx, ny, erode_size, true);
        square_filter(m, nx, ny, dilate_size, false);
        // 6-7. Regions (8-connected) kept by their bounding boxes (rows only tested for the border margin, as in the
        // seed), union, final dilation 10x10.
        const Components c = label_slice(m.data(), nx, ny, true);
        std::vector<std::int64_t> rmin(static_cast<std::size_t>(c.count), ny), rmax(static_cast<std::size_t>(c.count), -1),
            cmin2(static_cast<std::size_t>(c.count), nx), cmax2(static_cast<std::size_t>(c.count), -1);
        for (std::size_t r = 0; r < c.runs.size(); ++r) {
            const auto l = static_cast<std::size_t>(c.label[r]);
            rmin[l] = std::min(rmin[l], c.runs[r].row);
            rmax[l] = std::max(rmax[l], c.runs[r].row + 1);
            cmin2[l] = std::min<std::int64_t>(cmin2[l], c.runs[r].x0);
            cmax2[l] = std::max<std::int64_t>(cmax2[l], c.runs[r].x1);
        }
        std::vector<bool> keep(static_cast<std::size_t>(c.count));
        for (std::size_t l = 0; l < keep.size(); ++l)
            keep[l] = rmax[l] - rmin[l] < px(475) && cmax2[l] - cmin2[l] < px(475) && rmin[l] > px(40) && rmax[l] < px(472);
        std::fill(m.begin(), m.end(), 0);
        paint(c, keep, m.data(), 1);
        square_filter(m, nx, ny, dilate_size, false);
        std::copy(m.begin(), m.end(), out.mask.voxels.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(k) * n));
    });
    return out;
}

}  // namespace nodulecad
