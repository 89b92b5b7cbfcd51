#pragma once
// Overlap of binary masks (non-zero = inside): Dice and IoU, and the counts behind them.
#include <cstdint>

#include "nodulecad/core/volume.hpp"

namespace nodulecad {

struct Overlap {
    std::int64_t both = 0, only_a = 0, only_b = 0;
    double dice() const { return both + only_a + only_b == 0 ? 1.0 : 2.0 * static_cast<double>(both) / static_cast<double>(2 * both + only_a + only_b); }
    double iou() const { return both + only_a + only_b == 0 ? 1.0 : static_cast<double>(both) / static_cast<double>(both + only_a + only_b); }
};

// Throws nodulecad::Error if the geometries differ.
Overlap overlap(const Volume<std::uint8_t>& a, const Volume<std::uint8_t>& b);

}  // namespace nodulecad
