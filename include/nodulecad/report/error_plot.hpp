#pragma once
// The seed's four-panel error plot, done right: signed X, Y, Z and diameter errors (mm) of the matched nodules
// against nodule number, zero line, mean marked. SVG and PNG.
#include <string>
#include <vector>

#include "nodulecad/evaluate/localisation.hpp"
#include "nodulecad/io/png.hpp"

namespace nodulecad {

std::string error_plot_svg(const std::vector<NoduleError>& errors);
Image error_plot_png(const std::vector<NoduleError>& errors);

}  // namespace nodulecad
