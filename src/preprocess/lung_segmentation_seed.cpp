// The seed system's per-slice lung recipe (lung_segmentation.hpp: segment_lungs_seed), kept for comparison with the
// robust method beside it.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/preprocess/components.hpp"
#include "nodulecad/preprocess/lung_segmentation.hpp"

namespace nodulecad {

namespace {

std::size_t plane_size(const Geometry& g) { return static_cast<std::size_t>(g.size[0] * g.size[1]); }

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
