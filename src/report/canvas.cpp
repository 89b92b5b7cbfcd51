#include "nodulecad/report/canvas.hpp"

#include <algorithm>
#include <cmath>

namespace nodulecad {

namespace {
// 5x7 glyphs (rows top to bottom, 5 bits each, MSB left) for the characters plot labels need.
const std::uint8_t* glyph(char c) {
    static const std::uint8_t digits[10][7] = {
        {14, 17, 19, 21, 25, 17, 14}, {4, 12, 4, 4, 4, 4, 14},   {14, 17, 1, 2, 4, 8, 31},   {31, 2, 4, 2, 1, 17, 14},
        {2, 6, 10, 18, 31, 2, 2},     {31, 16, 30, 1, 1, 17, 14}, {6, 8, 16, 30, 17, 17, 14}, {31, 1, 2, 4, 8, 8, 8},
        {14, 17, 17, 14, 17, 17, 14}, {14, 17, 17, 15, 1, 2, 12}};
    static const std::uint8_t dot[7] = {0, 0, 0, 0, 0, 12, 12}, slash[7] = {1, 1, 2, 4, 8, 16, 16}, minus[7] = {0, 0, 0, 31, 0, 0, 0},
                              plus[7] = {0, 4, 4, 31, 4, 4, 0}, space[7] = {0, 0, 0, 0, 0, 0, 0};
    static const std::uint8_t C[7] = {14, 17, 16, 16, 16, 17, 14}, P[7] = {30, 17, 17, 30, 16, 16, 16}, M[7] = {17, 27, 21, 21, 17, 17, 17},
                              X[7] = {17, 17, 10, 4, 10, 17, 17}, Y[7] = {17, 17, 10, 4, 4, 4, 4}, Z[7] = {31, 1, 2, 4, 8, 16, 31},
                              D[7] = {28, 18, 17, 17, 17, 18, 28}, m[7] = {0, 0, 26, 21, 21, 17, 17};
    if (c >= '0' && c <= '9') return digits[c - '0'];
    switch (c) {
        case '.': return dot;
        case '/': return slash;
        case '-': return minus;
        case '+': return plus;
        case 'C': return C;
        case 'P': return P;
        case 'M': return M;
        case 'X': return X;
        case 'Y': return Y;
        case 'Z': return Z;
        case 'D': return D;
        case 'm': return m;
        default: return space;
    }
}
}  // namespace

Canvas::Canvas(int width, int height) {
    image_.width = width;
    image_.height = height;
    image_.channels = 3;
    image_.pixels.assign(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 3, 255);
}

void Canvas::pixel(int x, int y, Rgb c, double alpha) {
    if (x < 0 || y < 0 || x >= image_.width || y >= image_.height) return;
    std::uint8_t* p = image_.pixels.data() + (static_cast<std::size_t>(y) * static_cast<std::size_t>(image_.width) + static_cast<std::size_t>(x)) * 3;
    p[0] = static_cast<std::uint8_t>(p[0] + (c.r - p[0]) * alpha);
    p[1] = static_cast<std::uint8_t>(p[1] + (c.g - p[1]) * alpha);
    p[2] = static_cast<std::uint8_t>(p[2] + (c.b - p[2]) * alpha);
}

void Canvas::line(double x0, double y0, double x1, double y1, Rgb c, int thickness) {
    const int n = static_cast<int>(std::max(std::fabs(x1 - x0), std::fabs(y1 - y0))) + 1;
    for (int i = 0; i <= n; ++i) {
        const double t = static_cast<double>(i) / n;
        const int x = static_cast<int>(std::lround(x0 + t * (x1 - x0))), y = static_cast<int>(std::lround(y0 + t * (y1 - y0)));
        for (int dy = 0; dy < thickness; ++dy)
            for (int dx = 0; dx < thickness; ++dx) pixel(x + dx, y + dy, c);
    }
}

void Canvas::dot(double x, double y, int radius, Rgb c) {
    for (int dy = -radius; dy <= radius; ++dy)
        for (int dx = -radius; dx <= radius; ++dx)
            if (dx * dx + dy * dy <= radius * radius) pixel(static_cast<int>(x) + dx, static_cast<int>(y) + dy, c);
}

void Canvas::vspan(int x, int y0, int y1, Rgb c, double alpha) {
    for (int y = std::min(y0, y1); y <= std::max(y0, y1); ++y) pixel(x, y, c, alpha);
}

void Canvas::text(const std::string& s, double x, double y, int scale, int align, Rgb c) {
    const double extent = static_cast<double>(s.size()) * 6 * scale;
    int cx = static_cast<int>(align == 0 ? x - extent / 2 : align < 0 ? x - extent : x);
    for (char ch : s) {
        const std::uint8_t* g = glyph(ch);
        for (int row = 0; row < 7; ++row)
            for (int col = 0; col < 5; ++col)
                if (g[row] & (16 >> col))
                    for (int sy = 0; sy < scale; ++sy)
                        for (int sx = 0; sx < scale; ++sx) pixel(cx + col * scale + sx, static_cast<int>(y) + row * scale + sy, c);
        cx += 6 * scale;
    }
}

}  // namespace nodulecad
