#pragma once
// The 2D sample grid shared by training data and inference: S x S pixels of `pixel` mm around the lungs.
// Pixel (u, v) on slice k is the world point (x0 + u * pixel, y0 + v * pixel, world z of slice k): u along world +x,
// v along world +y whatever the direction matrix. Training samples and predictions use the same grid, and
// predictions go back onto the scan through the exact inverse of the same map.
#include <cstdint>

#include "nodulecad/core/volume.hpp"

namespace nodulecad {

struct SliceGrid {
    double x0 = 0, y0 = 0;  // world mm of pixel (0, 0)
    double pixel = 1;       // mm
    int size = 512;
};

struct WindowOptions {
    double lo = -1000, hi = 400;  // HU mapped to [0, 1]
    int context = 0;              // K slices above and below as channels (clamped at the ends)
    bool mask_lungs = false;      // zero pixels outside the lung mask (needs the mask)
};

// Centred on the world bounding box of the mask's voxels (in-plane); the volume's centre if the mask is empty.
SliceGrid grid_around(const Volume<std::uint8_t>& mask, int size, double pixel);

// The smallest square grid of `pixel` mm holding the mask's bounding box plus `margin_mm` on each side, its side
// rounded up to a multiple of `multiple` (a U-Net's 2^(depth-1)); for inference on just the lungs. The volume's
// whole slice if the mask is empty.
SliceGrid grid_fitted(const Volume<std::uint8_t>& mask, double pixel, int multiple, double margin_mm);

// World z of slice k (at the slice's centre voxel).
double slice_world_z(const Geometry& g, std::int64_t k);

// (2K+1) x S x S floats of slice k: bilinear HU, windowed to [0, 1]; outside the scan counts as -1000 HU.
void sample_image(const Volume<std::int16_t>& scan, const Volume<std::uint8_t>* lungs, const SliceGrid& grid, std::int64_t k,
                  const WindowOptions& w, float* out);

// S x S: 1 where the nearest voxel of `mask` on slice k is non-zero.
void sample_mask(const Volume<std::uint8_t>& mask, const SliceGrid& grid, std::int64_t k, std::uint8_t* out);

// The inverse: values on the grid (S x S) back onto slice k of the scan (nx x ny), bilinear in (u, v); scan voxels
// outside the grid get 0.
void unsample_slice(const float* values, const SliceGrid& grid, const Geometry& g, std::int64_t k, float* out);

}  // namespace nodulecad
