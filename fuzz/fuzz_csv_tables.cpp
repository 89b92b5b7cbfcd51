#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nodulecad/core/error.hpp"
#include "nodulecad/io/tables.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        (void)nodulecad::parse_annotations(text, "fuzz.csv");
    } catch (const nodulecad::Error&) {
    }
    try {
        (void)nodulecad::parse_results(text, "fuzz.csv");
    } catch (const nodulecad::Error&) {
    }
    try {
        (void)nodulecad::parse_seriesuids(text, "fuzz.csv");
    } catch (const nodulecad::Error&) {
    }
    return 0;
}
