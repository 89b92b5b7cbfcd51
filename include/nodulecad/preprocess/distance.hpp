#pragma once
// Exact Euclidean distance transform of a 2D slice (in mm, anisotropic pixels allowed) and the morphology built on
// it: dilation and erosion by a disc are thresholds of the distance, so a closing with any radius costs two linear
// passes, whatever the radius.
#include <cstdint>
#include <vector>

namespace nodulecad {

// Squared distance (mm^2) from each pixel to the nearest pixel where mask != 0; +inf-like (1e30) if none.
void squared_distance_2d(const std::uint8_t* mask, std::int64_t nx, std::int64_t ny, double sx, double sy,
                         std::vector<float>& out);

// Morphological closing by a disc of radius `radius_mm`, in place (mask values 0/1). Scratch buffers are reused.
void close_slice(std::uint8_t* mask, std::int64_t nx, std::int64_t ny, double sx, double sy, double radius_mm);

}  // namespace nodulecad
