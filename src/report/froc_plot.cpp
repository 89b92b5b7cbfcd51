#include "report/froc_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace nodulecad {

namespace {

// Plot frame shared by both renderings: x = log2(fps) from -3 to 3, y = sensitivity 0..1.
struct Frame {
    double w, h, left = 70, right = 20, top = 40, bottom = 60;
    double x(double fps) const { return left + (std::log2(std::clamp(fps, 0.125, 8.0)) + 3) / 6 * (w - left - right); }
    double y(double s) const { return top + (1 - std::clamp(s, 0.0, 1.0)) * (h - top - bottom); }
};

// The curve sampled densely on the log axis (np.interp between the curve's points).
std::vector<std::pair<double, double>> curve_points(const FrocResult& r) {
    std::vector<std::pair<double, double>> pts;
    for (int i = 0; i <= 300; ++i) {
        const double f = 0.125 * std::pow(64.0, i / 300.0);
        pts.emplace_back(f, interp(f, r.curve.fps, r.curve.sensitivity));
    }
    return pts;
}

// A 5x7 bitmap font for the few characters the PNG labels need (rows top to bottom, 5 bits each, MSB left).
const std::uint8_t* glyph(char c) {
    static const std::uint8_t digits[10][7] = {
        {14, 17, 19, 21, 25, 17, 14}, {4, 12, 4, 4, 4, 4, 14},   {14, 17, 1, 2, 4, 8, 31},   {31, 2, 4, 2, 1, 17, 14},
        {2, 6, 10, 18, 31, 2, 2},     {31, 16, 30, 1, 1, 17, 14}, {6, 8, 16, 30, 17, 17, 14}, {31, 1, 2, 4, 8, 8, 8},
        {14, 17, 17, 14, 17, 17, 14}, {14, 17, 17, 15, 1, 2, 12}};
    static const std::uint8_t dot[7] = {0, 0, 0, 0, 0, 12, 12}, slash[7] = {1, 1, 2, 4, 8, 16, 16}, space[7] = {0, 0, 0, 0, 0, 0, 0};
    static const std::uint8_t C[7] = {14, 17, 16, 16, 16, 17, 14}, P[7] = {30, 17, 17, 30, 16, 16, 16}, M[7] = {17, 27, 21, 21, 17, 17, 17};
    if (c >= '0' && c <= '9') return digits[c - '0'];
    switch (c) {
        case '.': return dot;
        case '/': return slash;
        case 'C': return C;
        case 'P': return P;
        case 'M': return M;
        default: return space;
    }
}

std::string num(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.2f", v);
    return b;
}

}  // namespace

std::string froc_svg(const FrocResult& r, const FrocBootstrap* band, const std::string& title) {
    const Frame f{640, 480};
    std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"480\" viewBox=\"0 0 640 480\" font-family=\"sans-serif\">\n";
    s += "<rect width=\"640\" height=\"480\" fill=\"white\"/>\n";
    s += "<text x=\"320\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">" + title + " — CPM " + num(r.cpm) + "</text>\n";
    // Grid and ticks.
    const char* labels[] = {"1/8", "1/4", "1/2", "1", "2", "4", "8"};
    for (int k = 0; k < 7; ++k) {
        const double x = f.x(kFrocPoints[static_cast<std::size_t>(k)]);
        s += "<line x1=\"" + num(x) + "\" y1=\"" + num(f.top) + "\" x2=\"" + num(x) + "\" y2=\"" + num(f.h - f.bottom) + "\" stroke=\"#ddd\"/>\n";
        s += "<text x=\"" + num(x) + "\" y=\"" + num(f.h - f.bottom + 18) + "\" text-anchor=\"middle\" font-size=\"12\">" + labels[k] + "</text>\n";
    }
    for (int k = 0; k <= 10; ++k) {
        const double y = f.y(k / 10.0);
        s += "<line x1=\"" + num(f.left) + "\" y1=\"" + num(y) + "\" x2=\"" + num(f.w - f.right) + "\" y2=\"" + num(y) + "\" stroke=\"#eee\"/>\n";
        if (k % 2 == 0) s += "<text x=\"" + num(f.left - 8) + "\" y=\"" + num(y + 4) + "\" text-anchor=\"end\" font-size=\"12\">" + num(k / 10.0) + "</text>\n";
    }
    s += "<text x=\"320\" y=\"" + num(f.h - 18) + "\" text-anchor=\"middle\" font-size=\"13\">average false positives per scan</text>\n";
    s += "<text x=\"18\" y=\"240\" text-anchor=\"middle\" font-size=\"13\" transform=\"rotate(-90 18 240)\">sensitivity</text>\n";
    if (band && !band->band_fps.empty()) {
        std::string poly;
        for (std::size_t i = 0; i < band->band_fps.size(); ++i) poly += num(f.x(band->band_fps[i])) + "," + num(f.y(band->band_hi[i])) + " ";
        for (std::size_t i = band->band_fps.size(); i-- > 0;) poly += num(f.x(band->band_fps[i])) + "," + num(f.y(band->band_lo[i])) + " ";
        s += "<polygon points=\"" + poly + "\" fill=\"#2563eb\" fill-opacity=\"0.15\" stroke=\"none\"/>\n";
    }
    std::string line;
    for (const auto& [fp, se] : curve_points(r)) line += num(f.x(fp)) + "," + num(f.y(se)) + " ";
    s += "<polyline points=\"" + line + "\" fill=\"none\" stroke=\"#2563eb\" stroke-width=\"2\"/>\n";
    for (std::size_t k = 0; k < 7; ++k)
        s += "<circle cx=\"" + num(f.x(kFrocPoints[k])) + "\" cy=\"" + num(f.y(r.sensitivities[k])) + "\" r=\"4\" fill=\"#dc2626\"><title>" +
             labels[k] + " FPs/scan: " + num(r.sensitivities[k]) + "</title></circle>\n";
    s += "<rect x=\"" + num(f.left) + "\" y=\"" + num(f.top) + "\" width=\"" + num(f.w - f.left - f.right) + "\" height=\"" + num(f.h - f.top - f.bottom) +
         "\" fill=\"none\" stroke=\"#333\"/>\n</svg>\n";
    return s;
}

Image froc_png(const FrocResult& r, const FrocBootstrap* band, int width, int height) {
    const Frame f{static_cast<double>(width), static_cast<double>(height)};
    Image im;
    im.width = width;
    im.height = height;
    im.channels = 3;
    im.pixels.assign(static_cast<std::size_t>(width * height * 3), 255);
    const auto put = [&](int x, int y, std::uint8_t r_, std::uint8_t g, std::uint8_t b, double alpha = 1) {
        if (x < 0 || y < 0 || x >= width || y >= height) return;
        std::uint8_t* p = im.pixels.data() + (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x)) * 3;
        p[0] = static_cast<std::uint8_t>(p[0] + (r_ - p[0]) * alpha);
        p[1] = static_cast<std::uint8_t>(p[1] + (g - p[1]) * alpha);
        p[2] = static_cast<std::uint8_t>(p[2] + (b - p[2]) * alpha);
    };
    const auto line = [&](double x0, double y0, double x1, double y1, std::uint8_t cr, std::uint8_t cg, std::uint8_t cb, int thick) {
        const int n = static_cast<int>(std::max(std::fabs(x1 - x0), std::fabs(y1 - y0))) + 1;
        for (int i = 0; i <= n; ++i) {
            const double t = static_cast<double>(i) / n;
            const int x = static_cast<int>(std::lround(x0 + t * (x1 - x0))), y = static_cast<int>(std::lround(y0 + t * (y1 - y0)));
            for (int dy = 0; dy < thick; ++dy)
                for (int dx = 0; dx < thick; ++dx) put(x + dx, y + dy, cr, cg, cb);
        }
    };
    for (std::size_t k = 0; k < 7; ++k) line(f.x(kFrocPoints[k]), f.top, f.x(kFrocPoints[k]), f.h - f.bottom, 221, 221, 221, 1);
    for (int k = 0; k <= 10; ++k) line(f.left, f.y(k / 10.0), f.w - f.right, f.y(k / 10.0), 238, 238, 238, 1);
    if (band && !band->band_fps.empty())
        for (int x = static_cast<int>(f.left); x <= static_cast<int>(f.w - f.right); ++x) {
            const double fps = 0.125 * std::pow(64.0, (x - f.left) / (f.w - f.left - f.right));
            const double lo = interp(fps, band->band_fps, band->band_lo), hi = interp(fps, band->band_fps, band->band_hi);
            for (int y = static_cast<int>(f.y(hi)); y <= static_cast<int>(f.y(lo)); ++y) put(x, y, 37, 99, 235, 0.15);
        }
    const auto pts = curve_points(r);
    for (std::size_t i = 1; i < pts.size(); ++i)
        line(f.x(pts[i - 1].first), f.y(pts[i - 1].second), f.x(pts[i].first), f.y(pts[i].second), 37, 99, 235, 2);
    for (std::size_t k = 0; k < 7; ++k) {
        const double cx = f.x(kFrocPoints[k]), cy = f.y(r.sensitivities[k]);
        for (int dy = -4; dy <= 4; ++dy)
            for (int dx = -4; dx <= 4; ++dx)
                if (dx * dx + dy * dy <= 16) put(static_cast<int>(cx) + dx, static_cast<int>(cy) + dy, 220, 38, 38);
        line(cx, f.h - f.bottom, cx, f.h - f.bottom + 6, 51, 51, 51, 1);  // tick
    }
    // Labels: ticks, sensitivity axis, and the CPM on top (scale 2 for the title).
    const auto text = [&](const std::string& t, double x, double y, int scale, bool centre) {
        const double extent = static_cast<double>(t.size()) * 6 * scale;
        int cx = static_cast<int>(centre ? x - extent / 2 : x - extent);
        for (char ch : t) {
            const std::uint8_t* g = glyph(ch);
            for (int row = 0; row < 7; ++row)
                for (int col = 0; col < 5; ++col)
                    if (g[row] & (16 >> col))
                        for (int sy = 0; sy < scale; ++sy)
                            for (int sx = 0; sx < scale; ++sx) put(cx + col * scale + sx, static_cast<int>(y) + row * scale + sy, 51, 51, 51);
            cx += 6 * scale;
        }
    };
    const char* ticks[] = {"1/8", "1/4", "1/2", "1", "2", "4", "8"};
    for (std::size_t k = 0; k < 7; ++k) text(ticks[k], f.x(kFrocPoints[k]), f.h - f.bottom + 12, 1, true);
    for (int k = 0; k <= 10; k += 2) text(num(k / 10.0).substr(0, 3), f.left - 8, f.y(k / 10.0) - 3, 1, false);
    text("CPM " + num(r.cpm).substr(0, 4), f.w / 2, 12, 2, true);
    // Frame.
    line(f.left, f.top, f.w - f.right, f.top, 51, 51, 51, 1);
    line(f.left, f.h - f.bottom, f.w - f.right, f.h - f.bottom, 51, 51, 51, 1);
    line(f.left, f.top, f.left, f.h - f.bottom, 51, 51, 51, 1);
    line(f.w - f.right, f.top, f.w - f.right, f.h - f.bottom, 51, 51, 51, 1);
    return im;
}

}  // namespace nodulecad
