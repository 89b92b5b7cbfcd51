#pragma once
// Connected components on runs: a mask is cut into runs of set voxels along x, runs that touch are joined with a
// union-find. Memory is proportional to the number of runs (a few per row), not to the volume, and the passes are
// a handful of linear scans.
#include <cstdint>
#include <vector>

#include "nodulecad/core/volume.hpp"

namespace nodulecad {

struct Run {
    std::int32_t x0, x1;  // [x0, x1)
    std::int64_t row;     // j + ny * k
};

struct Components {
    std::int64_t nx = 0, ny = 0, nz = 0;
    std::vector<Run> runs;
    std::vector<std::int32_t> label;   // component of each run, 0..count-1
    std::vector<std::int64_t> size;    // voxels per component
    std::int32_t count = 0;
};

// 4-connected (or 8-connected) components of one slice (nx * ny mask, x fastest).
Components label_slice(const std::uint8_t* mask, std::int64_t nx, std::int64_t ny, bool eight_connected = false);
// 6-connected (or 26-connected) components of a volume; runs are found slice by slice on `threads` workers.
Components label_volume(const Volume<std::uint8_t>& mask, int threads, bool full_connectivity = false);

// Sets out[voxel] = value for every voxel of the components where keep[label] is true.
void paint(const Components& c, const std::vector<bool>& keep, std::uint8_t* out, std::uint8_t value);

}  // namespace nodulecad
