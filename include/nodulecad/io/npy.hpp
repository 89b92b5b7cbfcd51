#pragma once
// NumPy .npy files (format versions 1.0, 2.0 and 3.0), C order, dtypes float32 (<f4), uint8 (|u1), int16 (<i2)
// plus the other fixed-width numeric types ElementType knows; big-endian data is swapped on read.
// The header parser is a pure function over bytes; data_offset lets later stages memory-map the payload.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nodulecad/core/element_type.hpp"

namespace nodulecad {

struct NpyHeader {
    int major_version = 1;
    ElementType dtype = ElementType::Float32;
    bool float16 = false;  // '<f2': half floats, read as Float32 (dtype is then Float32, elements are 2 bytes)
    bool big_endian = false;
    std::vector<std::int64_t> shape;  // C order; empty = scalar
    std::size_t data_offset = 0;      // bytes before the array data

    std::uint64_t element_count() const;
};

NpyHeader parse_npy_header(std::string_view bytes, const std::string& source);
std::string format_npy_header(ElementType dtype, const std::vector<std::int64_t>& shape);  // magic..'\n', 64-aligned
// The same for a NumPy descr string ('<f4', '|u1', '<f2', ...), for writers that stream data after it.
std::string format_npy_header(const std::string& descr, const std::vector<std::int64_t>& shape);
// Bytes per element of a parsed header.
std::size_t npy_element_size(const NpyHeader& h);

// IEEE 754 half <-> float (round to nearest even; infinities and NaN kept).
std::uint16_t float_to_half(float f);
float half_to_float(std::uint16_t h);

template <class T> struct NpyArray {
    std::vector<std::int64_t> shape;
    std::vector<T> data;  // C order
};

// Reads and converts (static_cast) to T; `max_bytes` guards the allocation like ReadOptions for MetaImage.
template <class T> NpyArray<T> read_npy(const std::string& path, std::uint64_t max_bytes = std::uint64_t{16} << 30);
template <class T> NpyArray<T> parse_npy(std::string_view bytes, const std::string& source,
                                         std::uint64_t max_bytes = std::uint64_t{16} << 30);
template <class T>
void write_npy(const std::string& path, const std::vector<std::int64_t>& shape, const std::vector<T>& data);

}  // namespace nodulecad
