#pragma once
// A scan on a fixed millimetre grid: what a 3D network that works in mm, not pixels, needs (the same network for
// 0.5-1 mm pixels and 0.625-2.5 mm slices). The new grid keeps the scan's origin and direction matrix and steps
// `spacing_mm` along each of its index axes, so world = origin + D * diag(spacing_mm) * index still holds and a
// position found on it goes to world mm like any other (IndexWorldTransform). No reorientation: the Hessian and
// the networks here do not care which way the axes point, and the direction matrix carries it to world.
#include "nodulecad/core/volume.hpp"

namespace nodulecad {

// The grid covering the scan's extent at `spacing_mm` (size: floor((n - 1) * s / spacing) + 1 per axis).
Geometry resampled_geometry(const Geometry& scan, const Vec3& spacing_mm);

// Trilinear resampling of `scan` onto resampled_geometry(scan.geometry, spacing_mm), as float; `threads` workers
// over slices (the result does not depend on their number).
Volume<float> resample_to_spacing(const Volume<std::int16_t>& scan, const Vec3& spacing_mm, int threads = 1);

}  // namespace nodulecad
