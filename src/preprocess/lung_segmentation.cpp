#include "nodulecad/preprocess/lung_segmentation.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <utility>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/io/text_numbers.hpp"
#include "nodulecad/preprocess/components.hpp"
#include "nodulecad/preprocess/distance.hpp"

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

// Area (mm^2) and mean column of component l of a slice.
struct SliceRegions {
    const Components& c;
    double pixel_mm2;

    double area(std::int32_t l) const { return static_cast<double>(c.size[static_cast<std::size_t>(l)]) * pixel_mm2; }
    double centroid_x(std::int32_t l) const {
        double sx = 0, n = 0;
        for (std::size_t r = 0; r < c.runs.size(); ++r)
            if (c.label[r] == l) {
                const double len = c.runs[r].x1 - c.runs[r].x0;
                sx += len * (c.runs[r].x0 + c.runs[r].x1 - 1) / 2.0;
                n += len;
            }
        return n > 0 ? sx / n : 0.0;
    }
};

// Where the trachea starts: within the top tenth of the scan, the first slice holding a tube-sized component
// (30-800 mm^2) less than 40 mm from the image's middle column, the one nearest it (the lung apices, where present,
// are lateral). Returns the position in `order` and the component's label, or nothing.
std::optional<std::pair<std::size_t, std::int32_t>> find_trachea(const std::vector<Components>& comps, const std::vector<std::int64_t>& order,
                                                                 const Geometry& g) {
    const double pixel_mm2 = g.spacing[0] * g.spacing[1], middle = (static_cast<double>(g.size[0]) - 1) / 2;
    const std::size_t search = std::max<std::size_t>(3, order.size() / 10);
    for (std::size_t s = 0; s < std::min(search, order.size()); ++s) {
        const SliceRegions regions{comps[static_cast<std::size_t>(order[s])], pixel_mm2};
        std::int32_t best = -1;
        double best_d = 1e300;
        for (std::int32_t l = 0; l < regions.c.count; ++l) {
            const double a = regions.area(l);
            if (a < 30 || a > 800) continue;
            const double d = std::fabs(regions.centroid_x(l) - middle);
            if (d < best_d && d * g.spacing[0] < 40) {
                best_d = d;
                best = l;
            }
        }
        if (best >= 0) return std::make_pair(s, best);
    }
    return std::nullopt;
}

// The components of a slice that continue the airway of the slice above (`above`, a mask of it): those overlapping
// it that stay tube-sized and not much bigger than it. A component that suddenly grows is lung (the bronchus has
// entered the hilum) and ends the branch. Empty when none continues it.
std::vector<bool> airway_continuation(const Components& c, const std::vector<std::uint8_t>& above, std::int64_t nx, double pixel_mm2) {
    const SliceRegions regions{c, pixel_mm2};
    std::vector<double> overlap_area(static_cast<std::size_t>(c.count), 0.0);
    for (std::size_t r = 0; r < c.runs.size(); ++r) {
        const Run& run = c.runs[r];
        const std::uint8_t* row = above.data() + run.row * nx;
        std::int64_t hits = 0;
        for (std::int32_t x = run.x0; x < run.x1; ++x) hits += row[x];
        overlap_area[static_cast<std::size_t>(c.label[r])] += static_cast<double>(hits) * pixel_mm2;
    }
    double above_area = 0;
    for (auto v : above) above_area += v;
    above_area *= pixel_mm2;
    std::vector<bool> current(static_cast<std::size_t>(c.count), false);
    bool any = false;
    for (std::int32_t l = 0; l < c.count; ++l) {
        if (overlap_area[static_cast<std::size_t>(l)] <= 0) continue;
        if (regions.area(l) <= 1000 && regions.area(l) <= 2.5 * above_area + 50) {
            current[static_cast<std::size_t>(l)] = true;
            any = true;
        }
    }
    return any ? current : std::vector<bool>{};
}

// Trachea and main bronchi: found in the top slices (find_trachea), followed down slice by slice
// (airway_continuation). The airway voxels are moved from `air` to `airway`; returns how many.
std::int64_t remove_airways(Volume<std::uint8_t>& air, Volume<std::uint8_t>& airway, int threads) {
    const Geometry& g = air.geometry;
    const std::int64_t nx = g.size[0], ny = g.size[1];
    const double pixel_mm2 = g.spacing[0] * g.spacing[1];
    const auto order = slices_top_down(g);
    std::vector<Components> comps(static_cast<std::size_t>(g.size[2]));
    parallel_for(g.size[2], threads, [&](std::int64_t k) {
        comps[static_cast<std::size_t>(k)] = label_slice(air.voxels.data() + static_cast<std::size_t>(k) * plane_size(g), nx, ny);
    });
    const auto trachea = find_trachea(comps, order, g);
    if (!trachea) return 0;
    const std::size_t start = trachea->first;
    std::vector<bool> current(static_cast<std::size_t>(comps[static_cast<std::size_t>(order[start])].count), false);
    current[static_cast<std::size_t>(trachea->second)] = true;

    std::int64_t removed = 0;
    std::vector<std::uint8_t> above(plane_size(g), 0);
    for (std::size_t s = start; s < order.size(); ++s) {
        const std::int64_t k = order[s];
        const Components& c = comps[static_cast<std::size_t>(k)];
        if (s > start && (current = airway_continuation(c, above, nx, pixel_mm2)).empty()) break;
        std::fill(above.begin(), above.end(), 0);
        paint(c, current, above.data(), 1);
        for (std::int32_t l = 0; l < c.count; ++l)
            if (current[static_cast<std::size_t>(l)]) removed += c.size[static_cast<std::size_t>(l)];
        paint(c, current, air.voxels.data() + static_cast<std::size_t>(k) * plane_size(g), 0);
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
        out.warnings.push_back("no lungs found (no air component of at least " + format_double(opts.min_lung_ml) + " ml inside the body)");
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

LungSegmentation segment_lungs(const Volume<std::int16_t>& scan, LungMethod method, const LungSegmentationOptions& opts) {
    return method == LungMethod::Seed ? segment_lungs_seed(scan, opts.threads) : segment_lungs_robust(scan, opts);
}

}  // namespace nodulecad
