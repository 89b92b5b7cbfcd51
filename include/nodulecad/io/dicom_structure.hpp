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

// Whether a file whose first bytes are `head` (132 of them, fewer for a short file) starts like DICOM: "DICM" after
// the 128-byte preamble, or (old files without one) an implicit-VR element of group 0008 first.
bool dicom_magic(std::string_view head);

// Up to `n` bytes at `offset` (fewer only at the end of the file).
using ByteReader = std::function<std::string_view(std::uint64_t offset, std::size_t n)>;

// Where the pixels of a sound file lie and how they are stored, from its top-level elements: lets a reader take
// uncompressed little-endian pixels straight from the file.
struct DicomPixelLayout {
    bool native_little_endian = false;  // pixel data of defined length in an uncompressed little-endian transfer syntax
    std::uint64_t offset = 0, length = 0;  // of the (7FE0,0010) value
    int rows = 0, columns = 0, bits_stored = 0, pixel_representation = 0;
    int samples = kAbsent, bits_allocated = kAbsent;  // kAbsent when the file does not give them (0 is a value)
    std::string photometric;  // PhotometricInterpretation (0028,0004), spaces trimmed; "" when absent
    static constexpr int kAbsent = -1;
};

struct DicomCheck {
    bool dicom = false;   // starts like DICOM: the DICM preamble, or (old files) an implicit element of group 0008
    std::string problem;  // "" when sound, else what is wrong and where ("element (0008,0005) at byte 362 needs ...")
    DicomPixelLayout pixels;
};

// The walk. A deflated data set (transfer syntax 1.2.840.10008.1.2.1.99) is inflated in memory, at most 1 GiB, and
// walked the same way; its pixel layout is then never native (the pixels are not in the file's bytes).
DicomCheck check_dicom_structure(const ByteReader& read, std::uint64_t size);
// "" when `bytes` are a sound DICOM file, else the problem (including "not DICOM").
std::string dicom_bytes_problem(std::string_view bytes);
// On a file: reads only the element headers (a small window at a time), never the pixel data. Error when the
// file cannot be opened.
DicomCheck check_dicom_file(const std::string& path);

}  // namespace nodulecad
