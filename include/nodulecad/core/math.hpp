#pragma once
// Numbers and formulas used in several stages, written once.
#include <cmath>

namespace nodulecad {

inline constexpr double kPi = 3.14159265358979323846;

// Diameter (mm) of the sphere with the volume of `voxels` voxels of `voxel_mm3` each: how a segmented region's size
// is reported. (Evaluated as (6 voxels) voxel_mm3 / pi, the order every caller used, so sizes stay bit-identical.)
inline double equivalent_diameter_mm(double voxels, double voxel_mm3) { return std::cbrt(6.0 * voxels * voxel_mm3 / kPi); }

// Volume (mm^3) of a sphere of this diameter (mm).
inline double sphere_volume_mm3(double diameter_mm) { return kPi / 6.0 * diameter_mm * diameter_mm * diameter_mm; }

}  // namespace nodulecad
