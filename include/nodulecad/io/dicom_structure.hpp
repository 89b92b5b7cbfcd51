#pragma once
// A DICOM file's element structure checked before any DICOM library parses it: every element header readable, every
// length inside the file, sequences and items closed. GDCM, as Debian builds it, stops the whole process on an
// assert for some broken files (a truncated download, found by fuzzing), so nothing reaches it unchecked. Values are
// not interpreted; the pixel data is only bounds-checked (never read).
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace nodulecad {

// Up to `n` bytes at `offset` (fewer only at the end of the file).
using ByteReader = std::function<std::string_view(std::uint64_t offset, std::size_t n)>;

// "" when the structure is sound (or cannot be walked without inflating: deflated transfer syntax), else what is
// wrong and where ("element (0008,0005) at byte 362 needs 10 bytes, the file ends after 4").
std::string dicom_structure_problem(const ByteReader& read, std::uint64_t size);
std::string dicom_bytes_problem(std::string_view bytes);
// On a file: reads only the element headers (a window at a time), never the pixel data.
std::string dicom_file_problem(const std::string& path);

}  // namespace nodulecad
