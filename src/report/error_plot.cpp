#include "nodulecad/report/error_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "nodulecad/report/canvas.hpp"

namespace nodulecad {

namespace {

struct Panel {
    const char* name;
    std::vector<double> values;
    double limit = 1;
};

std::vector<Panel> panels(const std::vector<NoduleError>& errors) {
    std::vector<Panel> p{{"X", {}}, {"Y", {}}, {"Z", {}}, {"D", {}}};
    for (const auto& e : errors) {
        if (!e.matched) continue;
        p[0].values.push_back(e.error[0]);
        p[1].values.push_back(e.error[1]);
        p[2].values.push_back(e.error[2]);
        p[3].values.push_back(e.diameter_error);
    }
    for (auto& q : p) {
        for (double v : q.values)
            if (std::isfinite(v)) q.limit = std::max(q.limit, std::fabs(v));
        q.limit = std::ceil(q.limit);
    }
    return p;
}

std::string fmt(double v, const char* f = "%.1f") {
    char b[32];
    std::snprintf(b, sizeof b, f, v);
    return b;
}

// Panel k occupies a 2x2 grid cell of a W x H picture; values map to x = index, y = error.
struct Cell {
    double x0, y0, w, h;
    double px(std::size_t i, std::size_t n) const { return x0 + 50 + (w - 70) * (n > 1 ? static_cast<double>(i) / static_cast<double>(n - 1) : 0.5); }
    double py(double v, double limit) const { return y0 + 30 + (h - 60) * (0.5 - 0.5 * std::clamp(v / limit, -1.0, 1.0)); }
};

Cell cell(int k, double W, double H) { return {(k % 2) * W / 2, (k / 2) * H / 2, W / 2, H / 2}; }

}  // namespace

std::string error_plot_svg(const std::vector<NoduleError>& errors) {
    const double W = 800, H = 600;
    const auto p = panels(errors);
    std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"800\" height=\"600\" viewBox=\"0 0 800 600\" font-family=\"sans-serif\">\n"
                    "<rect width=\"800\" height=\"600\" fill=\"white\"/>\n";
    const char* titles[] = {"X error (mm)", "Y error (mm)", "Z error (mm)", "diameter error (mm)"};
    for (int k = 0; k < 4; ++k) {
        const Cell c = cell(k, W, H);
        const Panel& q = p[static_cast<std::size_t>(k)];
        s += "<text x=\"" + fmt(c.x0 + c.w / 2) + "\" y=\"" + fmt(c.y0 + 20) + "\" text-anchor=\"middle\" font-size=\"14\">" + titles[k] + "</text>\n";
        s += "<line x1=\"" + fmt(c.x0 + 50) + "\" y1=\"" + fmt(c.py(0, q.limit)) + "\" x2=\"" + fmt(c.x0 + c.w - 20) + "\" y2=\"" + fmt(c.py(0, q.limit)) + "\" stroke=\"#999\"/>\n";
        for (double v : {q.limit, -q.limit})
            s += "<text x=\"" + fmt(c.x0 + 44) + "\" y=\"" + fmt(c.py(v, q.limit) + 4) + "\" text-anchor=\"end\" font-size=\"11\">" + fmt(v, "%+.0f") + "</text>\n";
        if (std::none_of(q.values.begin(), q.values.end(), [](double v) { return std::isfinite(v); }))
            s += "<text x=\"" + fmt(c.x0 + c.w / 2 + 15) + "\" y=\"" + fmt(c.y0 + c.h / 2 - 10) + "\" text-anchor=\"middle\" font-size=\"12\" fill=\"#555\">" +
                 (k == 3 && !q.values.empty() ? "no candidate diameters in the results" : "no matched nodules") + "</text>\n";
        for (std::size_t i = 0; i < q.values.size(); ++i) {
            if (!std::isfinite(q.values[i])) continue;
            s += "<line x1=\"" + fmt(c.px(i, q.values.size())) + "\" y1=\"" + fmt(c.py(0, q.limit)) + "\" x2=\"" + fmt(c.px(i, q.values.size())) + "\" y2=\"" +
                 fmt(c.py(q.values[i], q.limit)) + "\" stroke=\"#93c5fd\"/>\n";
            s += "<circle cx=\"" + fmt(c.px(i, q.values.size())) + "\" cy=\"" + fmt(c.py(q.values[i], q.limit)) + "\" r=\"2.5\" fill=\"#2563eb\"/>\n";
        }
        s += "<rect x=\"" + fmt(c.x0 + 50) + "\" y=\"" + fmt(c.y0 + 30) + "\" width=\"" + fmt(c.w - 70) + "\" height=\"" + fmt(c.h - 60) + "\" fill=\"none\" stroke=\"#333\"/>\n";
    }
    return s + "</svg>\n";
}

Image error_plot_png(const std::vector<NoduleError>& errors) {
    const int W = 800, H = 600;
    Canvas cv(W, H);
    const auto p = panels(errors);
    const Rgb ink{51, 51, 51}, zero{153, 153, 153}, light{147, 197, 253}, blue{37, 99, 235};
    for (int k = 0; k < 4; ++k) {
        const Cell c = cell(k, W, H);
        const Panel& q = p[static_cast<std::size_t>(k)];
        cv.text(std::string(q.name) + " mm", c.x0 + c.w / 2, c.y0 + 8, 2, 0);
        cv.line(c.x0 + 50, c.py(0, q.limit), c.x0 + c.w - 20, c.py(0, q.limit), zero);
        for (double v : {q.limit, -q.limit}) cv.text(fmt(v, "%+.0f"), c.x0 + 44, c.py(v, q.limit) - 3, 1, -1);
        for (std::size_t i = 0; i < q.values.size(); ++i) {
            if (!std::isfinite(q.values[i])) continue;
            cv.line(c.px(i, q.values.size()), c.py(0, q.limit), c.px(i, q.values.size()), c.py(q.values[i], q.limit), light);
            cv.dot(c.px(i, q.values.size()), c.py(q.values[i], q.limit), 2, blue);
        }
        cv.line(c.x0 + 50, c.y0 + 30, c.x0 + c.w - 20, c.y0 + 30, ink);
        cv.line(c.x0 + 50, c.y0 + c.h - 30, c.x0 + c.w - 20, c.y0 + c.h - 30, ink);
        cv.line(c.x0 + 50, c.y0 + 30, c.x0 + 50, c.y0 + c.h - 30, ink);
        cv.line(c.x0 + c.w - 20, c.y0 + 30, c.x0 + c.w - 20, c.y0 + c.h - 30, ink);
    }
    return cv.image();
}

}  // namespace nodulecad
