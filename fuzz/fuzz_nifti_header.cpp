// NIfTI-1/2 headers (either byte order) and the placement computed from them: qform quaternions, sform rows,
// pixdim, dims. Then the whole reader on the same bytes as a file, with a small memory limit.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/io/nifti.hpp"
#include "removed_at_exit.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    try {
        const nodulecad::NiftiHeader h = nodulecad::parse_nifti_header(bytes, "fuzz.nii");
        (void)nodulecad::nifti_placement(h, "fuzz.nii");
    } catch (const nodulecad::Error&) {
    }
    static const std::string path =
        (std::filesystem::temp_directory_path() / ("nodulecad-fuzz-" + std::to_string(::getpid()) + ".nii")).string();
    static const RemovedAtExit cleanup{path};
    try {
        nodulecad::write_file_atomically(path, bytes);
        (void)nodulecad::read_nifti(path, std::uint64_t{1} << 22);
    } catch (const nodulecad::Error&) {
    }
    return 0;
}
