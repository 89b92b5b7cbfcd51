#include "nodulecad/io/png.hpp"

#include <zlib.h>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"

namespace nodulecad {

namespace {

void put32(std::string& out, std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((v >> s) & 0xff);
}

void chunk(std::string& out, const char* type, const std::string& data) {
    put32(out, static_cast<std::uint32_t>(data.size()));
    const std::string body = std::string(type, 4) + data;
    out += body;
    put32(out, static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

}  // namespace

std::string encode_png(const Image& im) {
    if (im.width <= 0 || im.height <= 0 || (im.channels != 1 && im.channels != 3) ||
        im.pixels.size() != static_cast<std::size_t>(im.width) * static_cast<std::size_t>(im.height) * static_cast<std::size_t>(im.channels))
        throw Error("PNG: image size and pixel buffer disagree");
    // Each row: filter byte 0 (none) + pixels.
    const std::size_t row = static_cast<std::size_t>(im.width) * static_cast<std::size_t>(im.channels);
    std::string raw;
    raw.reserve((row + 1) * static_cast<std::size_t>(im.height));
    for (int y = 0; y < im.height; ++y) {
        raw += '\0';
        raw.append(reinterpret_cast<const char*>(im.pixels.data()) + static_cast<std::size_t>(y) * row, row);
    }
    uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
    std::string packed(packed_size, '\0');
    if (compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size, reinterpret_cast<const Bytef*>(raw.data()),
                  static_cast<uLong>(raw.size()), 6) != Z_OK)
        throw Error("PNG: compression failed");
    packed.resize(packed_size);

    std::string out("\x89PNG\r\n\x1a\n", 8);
    std::string ihdr;
    put32(ihdr, static_cast<std::uint32_t>(im.width));
    put32(ihdr, static_cast<std::uint32_t>(im.height));
    ihdr += static_cast<char>(8);                           // bit depth
    ihdr += static_cast<char>(im.channels == 1 ? 0 : 2);    // colour type: grey or RGB
    ihdr += std::string(3, '\0');                           // compression, filter, interlace
    chunk(out, "IHDR", ihdr);
    chunk(out, "IDAT", packed);
    chunk(out, "IEND", "");
    return out;
}

void write_png(const std::string& path, const Image& image) { write_file_atomically(path, encode_png(image)); }

}  // namespace nodulecad
