#pragma once
// A small raster canvas for plots: lines, dots, translucent fills and 5x7 bitmap text (digits, signs, a few
// capitals), on an RGB Image. Enough for readable PNG plots without a plotting library.
#include <cstdint>
#include <string>

#include "nodulecad/io/png.hpp"

namespace nodulecad {

struct Rgb {
    std::uint8_t r, g, b;
};

class Canvas {
public:
    Canvas(int width, int height);
    void pixel(int x, int y, Rgb c, double alpha = 1);
    void line(double x0, double y0, double x1, double y1, Rgb c, int thickness = 1);
    void dot(double x, double y, int radius, Rgb c);
    void vspan(int x, int y0, int y1, Rgb c, double alpha);  // a vertical run of translucent colour
    // Text with its top at y; align: -1 right-aligned to x, 0 centred, 1 left-aligned.
    void text(const std::string& s, double x, double y, int scale, int align, Rgb c = {51, 51, 51});
    const Image& image() const { return image_; }

private:
    Image image_;
};

}  // namespace nodulecad
