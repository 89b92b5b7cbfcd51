#pragma once
// What the 3D detector sees of a scan: the box around its lungs (plus a margin), resampled to an isotropic
// millimetre grid and windowed to 0..255. The box keeps the scan's direction matrix and steps `spacing_mm` along
// its index axes, so world = origin + D * diag(spacing) * index holds on it and a heatmap peak found there goes to
// world mm like any voxel (heatmap_peaks). One grid for every scan: the same network serves 0.5-1 mm pixels and
// 0.625-2.5 mm slices.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>

#include "nodulecad/core/volume.hpp"

namespace nodulecad {

struct Grid3dOptions {
    double spacing_mm = 2.0;   // voxel side of the grid
    double margin_mm = 10;     // around the lungs' bounding box (juxtapleural nodules sit on its edge)
    double window_lo = -1000, window_hi = 400;  // HU mapped to 0 and 255
    void check() const;        // OptionError for a grid no scan can use
};
void to_json(nlohmann::json& j, const Grid3dOptions& o);
void from_json(const nlohmann::json& j, Grid3dOptions& o);  // keeps the current value of a missing key

// The lungs' box of `scan` (`lungs`: its lung mask, same grid) on the grid, windowed: round(255 * (clamp(hu) - lo)
// / (hi - lo)), trilinear; outside the scan -1000 HU. A scan without lung voxels gives its whole extent.
Volume<std::uint8_t> lung_box_on_grid(const Volume<std::int16_t>& scan, const Volume<std::uint8_t>& lungs, const Grid3dOptions& opts,
                                      int threads = 1);

}  // namespace nodulecad
