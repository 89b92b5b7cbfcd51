#pragma once
// Kaggle run-length encoding of 2D masks (as the seed's README describes): pixels numbered from 1 down the columns
// (top to bottom, then left to right), runs of foreground as "start length start length ..."; a mask with fewer
// than `min_pixels` foreground pixels gives the empty string. Decoding inverts encoding exactly.
#include <cstdint>
#include <string>
#include <vector>

namespace nodulecad {

// `mask`: height x width, row-major (x fastest), non-zero = foreground.
std::string rle_encode(const std::uint8_t* mask, int width, int height, int min_pixels = 10);
// Throws nodulecad::Error (naming `source`) for odd token counts, non-numbers, runs outside the image, or runs
// that are not increasing and disjoint.
std::vector<std::uint8_t> rle_decode(const std::string& rle, int width, int height, const std::string& source = "rle");

}  // namespace nodulecad
