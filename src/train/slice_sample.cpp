#include "nodulecad/train/slice_sample.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "nodulecad/preprocess/components.hpp"

namespace nodulecad {

SliceAugment draw_slice_augment(Rng& rng, int window, double max_scale_change) {
    SliceAugment a;
    a.flip_x = rng.chance(0.5);
    a.flip_y = rng.chance(0.5);
    a.quarter_turns = rng.integer(0, 3);
    const int m = window / 16;
    a.shift_x = rng.integer(-m, m);
    a.shift_y = rng.integer(-m, m);
    a.gain = static_cast<float>(rng.uniform(0.95, 1.05));
    a.offset = static_cast<float>(rng.uniform(-0.03, 0.03));
    a.scale = 1 + max_scale_change * rng.uniform(-1, 1);
    return a;
}

void crop_origin(const SliceSource& src, std::int64_t row, int window, Rng& rng, std::int64_t& x0, std::int64_t& y0) {
    const std::int64_t S = src.size, W = window, plane = S * S;
    std::vector<float> m(static_cast<std::size_t>(plane));
    src.masks->values(static_cast<std::uint64_t>(row * plane), m.size(), m.data());
    std::vector<std::uint8_t> fg(m.size());
    bool any = false;
    for (std::size_t n = 0; n < m.size(); ++n) any |= (fg[n] = m[n] > 0 ? 1 : 0) != 0;
    if (!any) {
        x0 = rng.integer(0, static_cast<int>(S - W));
        y0 = rng.integer(0, static_cast<int>(S - W));
        return;
    }
    // A nodule chosen uniformly (not a pixel: small nodules would hardly ever be picked next to a large one), then
    // one of its pixels.
    const Components c = label_slice(fg.data(), S, S, true);
    const auto pick = static_cast<std::int32_t>(rng.uniform() * c.count);
    std::vector<std::int64_t> pixels;
    for (std::size_t r = 0; r < c.runs.size(); ++r)
        if (c.label[r] == pick)
            for (std::int64_t px = c.runs[r].x0; px < c.runs[r].x1; ++px) pixels.push_back(c.runs[r].row * S + px);
    const std::int64_t n = pixels[static_cast<std::size_t>(rng.uniform() * static_cast<double>(pixels.size()))];
    const std::int64_t margin = std::min<std::int64_t>(4, W / 4);
    x0 = n % S - rng.integer(static_cast<int>(margin), static_cast<int>(W - 1 - margin));
    y0 = n / S - rng.integer(static_cast<int>(margin), static_cast<int>(W - 1 - margin));
}

namespace {

// The affine map from output pixel (u, v) to slice point (a, b) = origin + u * du + v * dv.
struct WindowMap {
    double a0, b0, au, bu, av, bv;
};

WindowMap window_map(int window, std::int64_t x0, std::int64_t y0, const SliceAugment& aug) {
    const double W1 = window - 1, c = W1 / 2;
    const auto point = [&](double u, double v, double& a, double& b) {
        double p = c + (u - aug.shift_x - c) / aug.scale, q = c + (v - aug.shift_y - c) / aug.scale;
        for (int r = 0; r < aug.quarter_turns; ++r) {
            const double t = p;
            p = q;
            q = W1 - t;
        }
        if (aug.flip_x) p = W1 - p;
        if (aug.flip_y) q = W1 - q;
        a = p + static_cast<double>(x0);
        b = q + static_cast<double>(y0);
    };
    WindowMap m{};
    double a1, b1, a2, b2;
    point(0, 0, m.a0, m.b0);
    point(1, 0, a1, b1);
    point(0, 1, a2, b2);
    m.au = a1 - m.a0;
    m.bu = b1 - m.b0;
    m.av = a2 - m.a0;
    m.bv = b2 - m.b0;
    return m;
}

}  // namespace

void render_sample(const SliceSource& src, std::int64_t row, int window, std::int64_t x0, std::int64_t y0, const SliceAugment& aug,
                   float* x, float* y) {
    const std::int64_t S = src.size, C = src.channels, W = window, plane = S * S, out_plane = W * W;
    const WindowMap m = window_map(window, x0, y0, aug);
    // Every point the window shows lies in its corners' bounding box (the map is affine); that box, one pixel wider
    // for the bilinear taps, is read once into zero-padded float buffers, so the loop below needs no bounds checks
    // and pixels outside the slice are 0.
    double amin = 1e300, amax = -1e300, bmin = 1e300, bmax = -1e300;
    for (const double u : {0.0, static_cast<double>(W - 1)})
        for (const double v : {0.0, static_cast<double>(W - 1)}) {
            const double a = m.a0 + u * m.au + v * m.av, b = m.b0 + u * m.bu + v * m.bv;
            amin = std::min(amin, a);
            amax = std::max(amax, a);
            bmin = std::min(bmin, b);
            bmax = std::max(bmax, b);
        }
    const auto ax0 = static_cast<std::int64_t>(std::floor(amin)), ay0 = static_cast<std::int64_t>(std::floor(bmin));
    // (+3: the taps at floor + 1, and one pixel more against rounding in the loop's coordinates.)
    const std::int64_t bw = static_cast<std::int64_t>(std::floor(amax)) + 3 - ax0, bh = static_cast<std::int64_t>(std::floor(bmax)) + 3 - ay0;
    std::vector<float> img(static_cast<std::size_t>(C * bw * bh), 0.f), msk(static_cast<std::size_t>(bw * bh), 0.f);
    const std::int64_t sx0 = std::max<std::int64_t>(0, ax0), sx1 = std::min<std::int64_t>(S, ax0 + bw);
    for (std::int64_t sy = std::max<std::int64_t>(0, ay0); sy < std::min<std::int64_t>(S, ay0 + bh) && sx0 < sx1; ++sy) {
        const std::uint64_t at = static_cast<std::uint64_t>(sy * S + sx0);
        const std::int64_t to = (sy - ay0) * bw + (sx0 - ax0);
        const auto n = static_cast<std::size_t>(sx1 - sx0);
        for (std::int64_t c = 0; c < C; ++c)
            src.images->values(static_cast<std::uint64_t>((row * C + c) * plane) + at, n, img.data() + c * bh * bw + to);
        src.masks->values(static_cast<std::uint64_t>(row * plane) + at, n, msk.data() + to);
    }
    const float mean = static_cast<float>(src.mean), inv_std = static_cast<float>(1 / src.std);
    const double a0 = m.a0 - static_cast<double>(ax0), b0 = m.b0 - static_cast<double>(ay0);
    for (std::int64_t v = 0; v < W; ++v)
        for (std::int64_t u = 0; u < W; ++u) {
            // Buffer coordinates: >= 0 (or -1e-15 from rounding, which truncates to 0) and below bw - 2, bh - 2, so
            // truncation is floor and all four taps exist.
            const double a = a0 + static_cast<double>(u) * m.au + static_cast<double>(v) * m.av;
            const double b = b0 + static_cast<double>(u) * m.bu + static_cast<double>(v) * m.bv;
            const auto i = static_cast<std::int64_t>(a), j = static_cast<std::int64_t>(b);
            const auto wa = static_cast<float>(a - static_cast<double>(i)), wb = static_cast<float>(b - static_cast<double>(j));
            const float w00 = (1 - wa) * (1 - wb), w10 = wa * (1 - wb), w01 = (1 - wa) * wb, w11 = wa * wb;
            const std::int64_t at = j * bw + i, dst = v * W + u;
            for (std::int64_t c = 0; c < C; ++c) {
                const float* t = img.data() + c * bh * bw + at;
                const float value = w00 * t[0] + w10 * t[1] + w01 * t[bw] + w11 * t[bw + 1];
                x[c * out_plane + dst] = (value * aug.gain + aug.offset - mean) * inv_std;
            }
            const auto ni = static_cast<std::int64_t>(a + 0.5), nj = static_cast<std::int64_t>(b + 0.5);
            y[dst] = msk[static_cast<std::size_t>(nj * bw + ni)] > 0 ? 1.f : 0.f;
        }
}

void fill_sample(const SliceSource& src, std::int64_t row, bool augment, int crop, Rng rng, float* x, float* y, double max_scale_change) {
    const int W = crop > 0 ? crop : src.size;
    std::int64_t x0 = 0, y0 = 0;
    if (crop > 0) crop_origin(src, row, W, rng, x0, y0);
    const SliceAugment aug = augment ? draw_slice_augment(rng, W, max_scale_change) : SliceAugment{};
    render_sample(src, row, W, x0, y0, aug, x, y);
}

}  // namespace nodulecad
