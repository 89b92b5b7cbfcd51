#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nodulecad/core/error.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/io/metaimage_header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const auto h = nodulecad::parse_metaimage_header(
            std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.mhd");
        nodulecad::ReadOptions opts;
        opts.max_bytes = 1 << 20;
        (void)nodulecad::voxel_buffer_bytes(h, opts, "fuzz.mhd");
        (void)nodulecad::parse_metaimage_header(nodulecad::format_metaimage_header(h), "formatted.mhd");
    } catch (const nodulecad::Error&) {
    }
    return 0;
}
