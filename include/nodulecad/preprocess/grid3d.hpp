#pragma once
// What the 3D detector sees of a scan: the box around its lungs (plus a margin), resampled to an isotropic
// millimetre grid and windowed to 0..255. The box keeps the scan's direction matrix and steps `spacing_mm` along
// its index axes, so world = origin + D * diag(spacing) * index holds on it and a heatmap peak found there goes to
// world mm like any voxel (heatmap_peaks). One grid for every scan: the same network serves 0.5-1 mm pixels and
// 0.625-2.5 mm slices.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>

#include "nodulecad/core/enum_names.hpp"
#include "nodulecad/core/volume.hpp"

namespace nodulecad {

// How a grid voxel takes its value from the scan.
enum class GridSampling {
    // The scan at the voxel's centre (trilinear). On a scan finer than the grid (0.7-mm pixels, 0.625-mm slices on
    // a 2-mm grid) this is point sampling: the grid keeps the fine scan's noise and a small nodule's sharp edge,
    // which a scan of the grid's own resolution would have averaged away.
    Centre,
    // The mean of the scan over the voxel's cell: ceil(grid / scan spacing) trilinear samples per axis, evenly
    // inside the cell (one on an axis where the scan is as coarse as the grid or coarser), so every scan reaches
    // the grid at the grid's resolution, as a scanner of that voxel size would have measured it.
    CellMean,
};
inline constexpr EnumName<GridSampling> kGridSamplingNames[] = {{GridSampling::Centre, "centre"}, {GridSampling::CellMean, "cell-mean"}};

struct Grid3dOptions {
    double spacing_mm = 2.0;   // voxel side of the grid
    GridSampling sampling = GridSampling::Centre;  // a card without "sampling" (written before it existed) reads as centre
    double margin_mm = 10;     // around the lungs' bounding box (juxtapleural nodules sit on its edge)
    double window_lo = -1000, window_hi = 400;  // HU mapped to 0 and 255
    void check() const;        // OptionError for a grid no scan can use
};
void to_json(nlohmann::json& j, const Grid3dOptions& o);
// Keeps the current value of a missing key, except "sampling": missing means a card written before it existed,
// which sampled at the centre.
void from_json(const nlohmann::json& j, Grid3dOptions& o);

// The lungs' box of `scan` (`lungs`: its lung mask, same grid) on the grid, windowed: round(255 * (clamp(hu) - lo)
// / (hi - lo)), hu sampled as `sampling` says; outside the scan -1000 HU. A scan without lung voxels gives its whole extent.
Volume<std::uint8_t> lung_box_on_grid(const Volume<std::int16_t>& scan, const Volume<std::uint8_t>& lungs, const Grid3dOptions& opts,
                                      int threads = 1);

// The lung mask (0/1, any grid) on `box`'s grid (a lung box from the above): 255 * the mask's trilinear value at each
// box voxel's centre, found through world mm, so the two volumes lie voxel on voxel; outside the mask's scan 0. What
// the 3D detector's `lung+mask` input feeds beside the box (trilinear at the centre whatever the box's sampling:
// the mask's outline is smooth on the scale of a cell).
Volume<std::uint8_t> lungs_on_grid(const Volume<std::uint8_t>& lungs, const Geometry& box, int threads = 1);

}  // namespace nodulecad
