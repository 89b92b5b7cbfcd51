#pragma once
// One U-Net training sample from a dataset row: the (C, W, W) image, normalised with the training mean/std, and its
// (1, W, W) mask, cut from the S x S slice (a W-pixel window around a nodule when cropping) and augmented. Plain C++
// (no torch): the trainer's background threads call it, and it is tested on its own.
#include <cstdint>

#include "nodulecad/core/random.hpp"
#include "nodulecad/io/npy_map.hpp"

namespace nodulecad {

// Where the (C, S, S) images and (1, S, S) masks of a dataset are, and how to normalise them.
struct SliceSource {
    const NpyMap* images = nullptr;  // (N, C, S, S)
    const NpyMap* masks = nullptr;   // (N, 1, S, S)
    int channels = 1, size = 0;
    double mean = 0, std = 1;
};

// A geometric and intensity augmentation of a W x W window. Output pixel (u, v) shows window point
// (a, b) = flip(turn(centre + ((u, v) - shift - centre) / scale)): shifted, then scaled about the window's centre,
// then turned by quarter turns and mirrored. The image is sampled bilinearly (pixels outside the slice are 0), the
// mask at the nearest pixel, so it stays binary and on the image's nodule; scale 1 with whole-pixel shifts copies
// pixels exactly.
struct SliceAugment {
    bool flip_x = false, flip_y = false;
    int quarter_turns = 0;               // 0..3
    double shift_x = 0, shift_y = 0;     // pixels
    double scale = 1;                    // > 1 enlarges the content
    float gain = 1, offset = 0;          // intensity: value * gain + offset, before normalisation
};

// Flips and quarter turns (each equally likely), whole-pixel shifts up to W/16, scale 1 +- max_scale_change
// (uniform), gain 0.95-1.05, offset -0.03..0.03 (on the [0, 1] windowed intensities).
SliceAugment draw_slice_augment(Rng& rng, int window, double max_scale_change = 0.1);

// Top-left corner of the crop window in the slice: around a pixel of one of the sample's nodules (a nodule chosen
// uniformly, then one of its pixels, placed anywhere at least min(4, W/4) pixels inside the window), or anywhere
// when the slice has none.
void crop_origin(const SliceSource& src, std::int64_t row, int window, Rng& rng, std::int64_t& x0, std::int64_t& y0);

// Renders the window at (x0, y0) of `row` through `aug` into x (C, W, W) and y (1, W, W).
void render_sample(const SliceSource& src, std::int64_t row, int window, std::int64_t x0, std::int64_t y0, const SliceAugment& aug,
                   float* x, float* y);

// The trainer's sample: crop window (crop > 0) or the whole slice, augmented when asked; `rng` alone decides.
void fill_sample(const SliceSource& src, std::int64_t row, bool augment, int crop, Rng rng, float* x, float* y,
                 double max_scale_change = 0.1);

}  // namespace nodulecad
