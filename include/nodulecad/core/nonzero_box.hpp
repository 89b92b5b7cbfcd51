#pragma once
// The index box of a mask's nonzero voxels — the lungs' box that the blob filter, the 3D detector's grid and the
// 2D slice grid all start from. Scanned per slice in parallel and per row from both ends: a LUNA16-sized mask has
// 100 million voxels.
#include <array>
#include <cstdint>

#include "nodulecad/core/volume.hpp"

namespace nodulecad {

// [lo, hi) per axis (x, y, z index); empty when the mask has no nonzero voxel.
struct IndexBox {
    std::array<std::int64_t, 3> lo{}, hi{};
    bool empty() const { return hi[0] <= lo[0]; }
};

// The same box for any number of threads.
IndexBox nonzero_box(const Volume<std::uint8_t>& mask, int threads = 1);

}  // namespace nodulecad
