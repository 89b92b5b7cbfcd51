#pragma once
// The FROC plot: sensitivity against FPs per scan on a log2 axis from 1/8 to 8, the 7 LUNA16 points marked, the
// bootstrap band shaded. SVG from our own small writer (text and vectors, no dependency); PNG rasterised from the
// same geometry (lines, band, points and tick marks; labels only in the SVG).
#include <string>

#include "nodulecad/evaluate/froc.hpp"
#include "nodulecad/io/png.hpp"

namespace nodulecad {

std::string froc_svg(const FrocResult& r, const FrocBootstrap* band, const std::string& title);
Image froc_png(const FrocResult& r, const FrocBootstrap* band, int width = 640, int height = 480);

}  // namespace nodulecad
