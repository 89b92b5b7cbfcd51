#pragma once
// Minimal PNG writer (8-bit grey or RGB, no interlace) on zlib, for slice previews, overlays and reports.
#include <cstdint>
#include <string>
#include <vector>

namespace nodulecad {

struct Image {
    int width = 0, height = 0, channels = 1;  // 1 = grey, 3 = RGB
    std::vector<std::uint8_t> pixels;         // row-major, top row first
};

// PNG file bytes (pure; tested against a decoder-independent structure check).
std::string encode_png(const Image& image);
// Atomic write.
void write_png(const std::string& path, const Image& image);

}  // namespace nodulecad
