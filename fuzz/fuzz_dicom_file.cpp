// One DICOM file: our structural walk on its bytes, then as a series of one image through the whole reader (the
// walk, GDCM's parsing, then ours of what it found: series grouping, orientation and position strings, spacing,
// rescale, bits stored, pixel decoding). GDCM aborting on an assert is a crash here, as it would be for a user.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/io/dicom.hpp"
#include "nodulecad/io/dicom_structure.hpp"
#include "removed_at_exit.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    (void)nodulecad::dicom_bytes_problem(std::string_view(reinterpret_cast<const char*>(data), size));
    static const std::string folder =
        (std::filesystem::temp_directory_path() / ("nodulecad-fuzz-dicom-" + std::to_string(::getpid()))).string();
    static const RemovedAtExit cleanup{folder};
    static const bool made = std::filesystem::create_directories(folder) || std::filesystem::is_directory(folder);
    if (!made) return 0;
    try {
        nodulecad::write_file_atomically(folder + "/IM0000.dcm", std::string_view(reinterpret_cast<const char*>(data), size));
        nodulecad::DicomReadOptions o;
        o.max_bytes = std::uint64_t{1} << 24;
        (void)nodulecad::read_dicom_series(folder, o);
    } catch (const nodulecad::Error&) {
    }
    return 0;
}
