#pragma once
// MetaImage volumes from and to disk: .mhd + .raw/.zraw (detached data) or .mha (LOCAL data).
// Reading validates everything before allocating: sizes that overflow or exceed ReadOptions::max_bytes,
// data files shorter than the header promises (expected vs actual bytes), corrupt zlib streams.
#include <cstdint>
#include <string>

#include "nodulecad/core/volume.hpp"
#include "nodulecad/io/metaimage_header.hpp"

namespace nodulecad {

struct ReadOptions {
    // Refuse images whose voxel buffer would be larger than this (checked before allocating).
    std::uint64_t max_bytes = std::uint64_t{16} << 30;
};

struct WriteOptions {
    bool compress = false;    // zlib; detached data then goes to .zraw
    int compression_level = 6;
    int ndims = 3;            // 2 writes a 2D header (the volume must have one slice)
};

// Header only (cheap: reads at most the header bytes).
MetaImageHeader read_metaimage_header(const std::string& path);

// Bytes the voxel buffer of `h` needs; throws Error (naming `source`) on overflow or above max_bytes.
std::uint64_t voxel_buffer_bytes(const MetaImageHeader& h, const ReadOptions& opts, const std::string& source);

// Whole image in its stored voxel type; the parsed header is copied to *header when given.
AnyVolume read_metaimage(const std::string& path, const ReadOptions& opts = {}, MetaImageHeader* header = nullptr);

// Whole image converted to T (static_cast per voxel; no copy when the stored type is T).
template <class T> Volume<T> read_volume(const std::string& path, const ReadOptions& opts = {}) {
    return convert_volume<T>(read_metaimage(path, opts));
}

// Writes `path` (.mhd or .mha) atomically; for .mhd the data file (<stem>.raw or .zraw) is written first, also
// atomically, so the header never points at a missing or partial data file.
template <class T> void write_metaimage(const std::string& path, const Volume<T>& volume, const WriteOptions& opts = {});

}  // namespace nodulecad
