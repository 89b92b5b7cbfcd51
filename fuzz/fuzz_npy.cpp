#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nodulecad/core/error.hpp"
#include "nodulecad/io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        (void)nodulecad::parse_npy<float>(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.npy",
                                          std::uint64_t{1} << 24);
    } catch (const nodulecad::Error&) {
    }
    return 0;
}
