#include "nodulecad/io/metaimage.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <vector>

#include "nodulecad/core/files.hpp"
#include "nodulecad/core/error.hpp"
#include "nodulecad/core/memory_limit.hpp"
#include "nodulecad/io/text_numbers.hpp"

namespace nodulecad {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxHeaderBytes = std::size_t{1} << 20;

using File = UniqueFile;

File open_for_reading(const std::string& path, const std::string& what) {
    std::error_code ec;
    if (!fs::exists(path, ec)) fail(path, what + " not found");
    if (fs::is_directory(path, ec)) fail(path, what + " is a directory");
    File f(std::fopen(path.c_str(), "rb"));
    if (!f) fail(path, "cannot open " + what + ": " + std::strerror(errno));
    return f;
}

void read_exact(std::FILE* f, std::uint64_t offset, void* dst, std::uint64_t bytes, const std::string& path) {
    if (fseeko(f, static_cast<off_t>(offset), SEEK_SET) != 0) fail(path, "cannot seek to byte " + std::to_string(offset));
    auto* out = static_cast<unsigned char*>(dst);
    std::uint64_t done = 0;
    while (done < bytes) {
        const std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(bytes - done, std::uint64_t{1} << 30));
        const std::size_t got = std::fread(out + done, 1, chunk, f);
        if (got == 0) fail(path, "read failed after " + std::to_string(done) + " of " + std::to_string(bytes) + " bytes");
        done += got;
    }
}

bool host_is_big_endian() {
    const std::uint16_t probe = 1;
    unsigned char first;
    std::memcpy(&first, &probe, 1);
    return first == 0;
}

void swap_bytes(void* data, std::size_t count, std::size_t width) {
    auto* p = static_cast<unsigned char*>(data);
    if (width < 2) return;
    for (std::size_t n = 0; n < count; ++n, p += width) std::reverse(p, p + width);
}

std::string describe(const MetaImageHeader& h) {
    std::string s;
    for (int a = 0; a < h.ndims; ++a) {
        if (a) s += 'x';
        s += std::to_string(h.geometry.size[static_cast<std::size_t>(a)]);
    }
    return s + " " + std::string(metaimage_name(h.element_type));
}

void inflate_exact(const unsigned char* src, std::uint64_t src_bytes, unsigned char* dst, std::uint64_t dst_bytes,
                   const std::string& path) {
    z_stream zs{};
    if (inflateInit(&zs) != Z_OK) fail(path, "cannot initialise zlib");
    std::uint64_t in_done = 0, out_done = 0;
    int rc = Z_OK;
    constexpr std::uint64_t kChunk = std::uint64_t{1} << 30;  // zlib counts in 32-bit uInt
    unsigned char probe = 0;     // once dst is full: one spare byte tells "stream ends here" from "more data"
    bool probing = false;
    while (rc != Z_STREAM_END) {
        if (zs.avail_in == 0 && in_done < src_bytes) {
            zs.next_in = const_cast<unsigned char*>(src + in_done);
            zs.avail_in = static_cast<uInt>(std::min(kChunk, src_bytes - in_done));
            in_done += zs.avail_in;
        }
        if (zs.avail_out == 0) {
            if (probing) break;  // the spare byte was written: more data than the image holds
            if (out_done < dst_bytes) {
                zs.next_out = dst + out_done;
                zs.avail_out = static_cast<uInt>(std::min(kChunk, dst_bytes - out_done));
                out_done += zs.avail_out;
            } else {
                zs.next_out = &probe;
                zs.avail_out = 1;
                probing = true;
            }
        }
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc == Z_BUF_ERROR && zs.avail_in == 0 && in_done >= src_bytes) break;  // input ran out
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
            const std::string msg = zs.msg ? zs.msg : "error " + std::to_string(rc);
            inflateEnd(&zs);
            fail(path, "corrupt compressed data (zlib: " + msg + ")");
        }
    }
    const std::uint64_t produced = zs.total_out;
    inflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        if (produced > dst_bytes)
            fail(path, "corrupt compressed data: it decompresses to more than the " + std::to_string(dst_bytes) +
                           " bytes the header promises");
        fail(path, "corrupt or truncated compressed data: decompressed " + std::to_string(produced) + " of " +
                       std::to_string(dst_bytes) + " expected bytes");
    }
    if (produced != dst_bytes)  // the stream ended early
        fail(path, "compressed data decompresses to " + std::to_string(produced) + " bytes, expected " +
                       std::to_string(dst_bytes));
}

std::vector<unsigned char> deflate_all(const void* data, std::uint64_t bytes, int level, const std::string& path) {
    z_stream zs{};
    if (deflateInit(&zs, level) != Z_OK) fail(path, "cannot initialise zlib (level " + std::to_string(level) + ")");
    std::vector<unsigned char> out;
    const auto* src = static_cast<const unsigned char*>(data);
    std::uint64_t in_done = 0;
    constexpr std::uint64_t kChunk = std::uint64_t{1} << 26;
    unsigned char buf[1 << 16];
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        if (zs.avail_in == 0 && in_done < bytes) {
            zs.next_in = const_cast<unsigned char*>(src + in_done);
            zs.avail_in = static_cast<uInt>(std::min(kChunk, bytes - in_done));
            in_done += zs.avail_in;
        }
        zs.next_out = buf;
        zs.avail_out = sizeof buf;
        rc = deflate(&zs, in_done >= bytes && zs.avail_in == 0 ? Z_FINISH : Z_NO_FLUSH);
        if (rc == Z_STREAM_ERROR) {
            deflateEnd(&zs);
            fail(path, "zlib compression failed");
        }
        out.insert(out.end(), buf, buf + (sizeof buf - zs.avail_out));
    }
    deflateEnd(&zs);
    return out;
}

}  // namespace

MetaImageHeader read_metaimage_header(const std::string& path) {
    File f = open_for_reading(path, "header file");
    std::string head(kMaxHeaderBytes, '\0');
    head.resize(std::fread(head.data(), 1, head.size(), f.get()));
    // Only the text part matters; if a LOCAL file's binary data starts within the buffer the parser stops at
    // ElementDataFile before reaching it.
    return parse_metaimage_header(head, path);
}

std::uint64_t voxel_buffer_bytes(const MetaImageHeader& h, const ReadOptions& opts, const std::string& source) {
    std::uint64_t total = element_size(h.element_type);
    for (auto s : h.geometry.size) {
        if (s <= 0) fail(source, "image size " + describe(h) + " is not positive");
        if (__builtin_mul_overflow(total, static_cast<std::uint64_t>(s), &total))
            fail(source, "image size " + describe(h) + " overflows 64-bit byte counts");
    }
    const std::uint64_t stored = element_size(h.element_type);
    std::string dims;
    for (int a = 0; a < h.ndims; ++a) dims += (a ? "x" : "") + std::to_string(h.geometry.size[static_cast<std::size_t>(a)]);
    check_scan_memory(total / stored, stored, dims, source);
    if (total > opts.max_bytes)
        fail(source, "image " + describe(h) + " needs " + std::to_string(total) + " bytes, over the memory limit of " +
                         std::to_string(opts.max_bytes) + " bytes");
    return total;
}

AnyVolume read_metaimage(const std::string& path, const ReadOptions& opts, MetaImageHeader* header) {
    const MetaImageHeader h = read_metaimage_header(path);
    if (header) *header = h;
    validate(h.geometry, path.c_str());
    const std::uint64_t expected = voxel_buffer_bytes(h, opts, path);

    std::string data_path = path;
    if (!h.local()) {
        const fs::path p(h.data_file);
        data_path = p.is_absolute() ? p.string() : (fs::path(path).parent_path() / p).string();
    }
    File f = h.local() ? open_for_reading(path, "file") : open_for_reading(data_path, "data file (ElementDataFile = " + h.data_file + ")");
    const std::uint64_t size = file_size(data_path);

    std::uint64_t offset = h.local() ? h.header_bytes : static_cast<std::uint64_t>(std::max<std::int64_t>(h.header_size, 0));
    if (h.header_size == -1) {
        if (size < expected)
            fail(data_path, "data file holds " + std::to_string(size) + " bytes but " + describe(h) + " needs " +
                                std::to_string(expected) + " bytes");
        offset = size - expected;
    }
    if (offset > size)
        fail(data_path, "data file holds " + std::to_string(size) + " bytes, less than the header offset " +
                            std::to_string(offset));
    const std::uint64_t available = size - offset;

    AnyVolume result = dispatch_element_type(h.element_type, [&](auto tag) -> AnyVolume {
        using T = decltype(tag);
        Volume<T> vol;
        vol.geometry = h.geometry;
        vol.voxels.resize(static_cast<std::size_t>(expected / sizeof(T)));
        if (!h.compressed) {
            if (available < expected)
                fail(data_path, "data file too short: " + describe(h) + " needs " + std::to_string(expected) +
                                    " bytes, the file holds " + std::to_string(available) + " bytes" +
                                    (offset ? " after offset " + std::to_string(offset) : std::string()));
            read_exact(f.get(), offset, vol.voxels.data(), expected, data_path);
        } else {
            std::uint64_t csize = h.compressed_size.value_or(available);
            if (csize > available)
                fail(data_path, "data file too short: CompressedDataSize is " + std::to_string(csize) +
                                    " bytes, the file holds " + std::to_string(available) + " bytes");
            std::vector<unsigned char> packed(static_cast<std::size_t>(csize));
            read_exact(f.get(), offset, packed.data(), csize, data_path);
            inflate_exact(packed.data(), csize, reinterpret_cast<unsigned char*>(vol.voxels.data()), expected, data_path);
        }
        if (h.msb != host_is_big_endian()) swap_bytes(vol.voxels.data(), vol.voxels.size(), sizeof(T));
        return vol;
    });
    return result;
}

template <class T> void write_metaimage(const std::string& path, const Volume<T>& volume, const WriteOptions& opts) {
    validate(volume.geometry, path.c_str());
    if (volume.voxels.size() != static_cast<std::size_t>(volume.geometry.voxel_count()))
        fail(path, "volume holds " + std::to_string(volume.voxels.size()) + " voxels but its size says " +
                       std::to_string(volume.geometry.voxel_count()));
    if (opts.ndims != 2 && opts.ndims != 3) fail(path, "MetaImage writer supports 2 or 3 dimensions");
    if (opts.ndims == 2) {
        if (volume.geometry.size[2] != 1) fail(path, "a 2D MetaImage needs a volume with one slice");
        const Mat3& d = volume.geometry.direction;
        if (d[2] != 0 || d[5] != 0 || d[6] != 0 || d[7] != 0 || d[8] != 1)
            fail(path, "a 2D MetaImage needs a direction matrix without z components");
    }
    const fs::path header_path(path);
    const std::string ext = header_path.extension().string();
    const bool local = iequals(ext, ".mha");
    if (!local && !iequals(ext, ".mhd")) fail(path, "MetaImage file name must end in .mhd or .mha");

    MetaImageHeader h;
    h.ndims = opts.ndims;
    h.geometry = volume.geometry;
    h.element_type = element_type_of<T>;
    h.msb = host_is_big_endian();
    h.compressed = opts.compress;

    const void* raw = volume.voxels.data();
    const std::uint64_t raw_bytes = volume.voxels.size() * sizeof(T);
    std::vector<unsigned char> packed;
    if (opts.compress) {
        packed = deflate_all(raw, raw_bytes, opts.compression_level, path);
        h.compressed_size = packed.size();
    }
    const void* payload = opts.compress ? static_cast<const void*>(packed.data()) : raw;
    const std::uint64_t payload_bytes = opts.compress ? packed.size() : raw_bytes;

    if (local) {
        h.data_file = "LOCAL";
        const std::string text = format_metaimage_header(h);
        write_file_atomically(path, [&](std::FILE* f) {
            write_all(f, text.data(), text.size(), path);
            write_all(f, payload, static_cast<std::size_t>(payload_bytes), path);
        });
    } else {
        fs::path data = header_path;
        data.replace_extension(opts.compress ? ".zraw" : ".raw");
        h.data_file = data.filename().string();
        write_file_atomically(data.string(), [&](std::FILE* f) {
            write_all(f, payload, static_cast<std::size_t>(payload_bytes), data.string());
        });
        write_file_atomically(path, format_metaimage_header(h));
    }
}

#define NODULECAD_INSTANTIATE(T) \
    template void write_metaimage<T>(const std::string&, const Volume<T>&, const WriteOptions&);
NODULECAD_FOR_EACH_ELEMENT_TYPE(NODULECAD_INSTANTIATE)
#undef NODULECAD_INSTANTIATE

}  // namespace nodulecad
