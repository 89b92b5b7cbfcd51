#include "nodulecad/report/froc_plot.hpp"

#include "nodulecad/report/canvas.hpp"

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
    Canvas c(width, height);
    const Rgb grid{221, 221, 221}, faint{238, 238, 238}, blue{37, 99, 235}, red{220, 38, 38}, ink{51, 51, 51};
    for (std::size_t k = 0; k < 7; ++k) c.line(f.x(kFrocPoints[k]), f.top, f.x(kFrocPoints[k]), f.h - f.bottom, grid);
    for (int k = 0; k <= 10; ++k) c.line(f.left, f.y(k / 10.0), f.w - f.right, f.y(k / 10.0), faint);
    if (band && !band->band_fps.empty())
        for (int x = static_cast<int>(f.left); x <= static_cast<int>(f.w - f.right); ++x) {
            const double fps = 0.125 * std::pow(64.0, (x - f.left) / (f.w - f.left - f.right));
            c.vspan(x, static_cast<int>(f.y(interp(fps, band->band_fps, band->band_hi))),
                    static_cast<int>(f.y(interp(fps, band->band_fps, band->band_lo))), blue, 0.15);
        }
    const auto pts = curve_points(r);
    for (std::size_t i = 1; i < pts.size(); ++i) c.line(f.x(pts[i - 1].first), f.y(pts[i - 1].second), f.x(pts[i].first), f.y(pts[i].second), blue, 2);
    const char* ticks[] = {"1/8", "1/4", "1/2", "1", "2", "4", "8"};
    for (std::size_t k = 0; k < 7; ++k) {
        c.dot(f.x(kFrocPoints[k]), f.y(r.sensitivities[k]), 4, red);
        c.line(f.x(kFrocPoints[k]), f.h - f.bottom, f.x(kFrocPoints[k]), f.h - f.bottom + 6, ink);
        c.text(ticks[k], f.x(kFrocPoints[k]), f.h - f.bottom + 12, 1, 0);
    }
    for (int k = 0; k <= 10; k += 2) c.text(num(k / 10.0).substr(0, 3), f.left - 8, f.y(k / 10.0) - 3, 1, -1);
    c.text("CPM " + num(r.cpm).substr(0, 4), f.w / 2, 12, 2, 0);
    c.line(f.left, f.top, f.w - f.right, f.top, ink);
    c.line(f.left, f.h - f.bottom, f.w - f.right, f.h - f.bottom, ink);
    c.line(f.left, f.top, f.left, f.h - f.bottom, ink);
    c.line(f.w - f.right, f.top, f.w - f.right, f.h - f.bottom, ink);
    return c.image();
}

}  // namespace nodulecad
