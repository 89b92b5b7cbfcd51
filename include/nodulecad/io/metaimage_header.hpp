#pragma once
// MetaImage (.mhd / .mha) header: parsed from text by a pure function, formatted back LUNA16-style.
//
// Conventions (matching ITK's MetaImageIO):
// - keys are case-insensitive; unknown keys are ignored; ElementDataFile is the last key (data may follow it).
// - TransformMatrix (alias Rotation, Orientation) lists the direction of each index axis in turn, i.e. the
//   COLUMNS of D, so D(row r, col c) = TransformMatrix[c * NDims + r].
// - ElementSpacing falls back to ElementSize; Offset has aliases Origin and Position.
// - HeaderSize = -1 means the data is the last (expected size) bytes of the data file.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "nodulecad/core/element_type.hpp"
#include "nodulecad/core/geometry.hpp"

namespace nodulecad {

struct MetaImageHeader {
    int ndims = 3;                  // 2 or 3; a 2D image has size[2] == 1
    Geometry geometry;
    ElementType element_type = ElementType::Int16;
    bool msb = false;               // BinaryDataByteOrderMSB / ElementByteOrderMSB
    bool compressed = false;        // zlib stream
    std::optional<std::uint64_t> compressed_size;
    std::int64_t header_size = 0;   // bytes to skip at the start of the data file; -1 = data at end of file
    std::string data_file;          // "LOCAL" or a path relative to the header's folder
    std::size_t header_bytes = 0;   // offset just past the ElementDataFile line (where LOCAL data starts)

    bool local() const;
};

// Parses the header text at the start of `bytes` (which may continue with binary data for LOCAL files).
// Throws nodulecad::Error "source:line: what is wrong" for anything malformed, missing or unsupported.
MetaImageHeader parse_metaimage_header(std::string_view bytes, const std::string& source);

// LUNA16-style header text: ObjectType, NDims, BinaryData, byte order, compression, TransformMatrix, Offset,
// CenterOfRotation, AnatomicalOrientation, ElementSpacing, DimSize, ElementType, ElementDataFile (last).
std::string format_metaimage_header(const MetaImageHeader& h);

// Three-letter ITK/MetaIO orientation code of a direction matrix ("RAI" for identity).
std::string anatomical_orientation(const Mat3& direction);

}  // namespace nodulecad
