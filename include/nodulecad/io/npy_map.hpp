#pragma once
// A memory-mapped .npy file: the header parsed, the data left in the page cache (datasets bigger than memory are
// read lazily, and several readers share one copy).
#include <cstdint>
#include <string>

#include "nodulecad/io/npy.hpp"

namespace nodulecad {

class NpyMap {
public:
    explicit NpyMap(const std::string& path);
    ~NpyMap();
    NpyMap(const NpyMap&) = delete;
    NpyMap& operator=(const NpyMap&) = delete;
    const NpyHeader& header() const { return header_; }
    const unsigned char* data() const { return base_ + header_.data_offset; }
    // Element n (row-major) as float, whatever the stored type (float16, float32, uint8, ...).
    float value(std::uint64_t n) const;
    // Elements first .. first+count-1 as floats into out (the type is dispatched once, not per element).
    void values(std::uint64_t first, std::size_t count, float* out) const;
    std::uint64_t count() const { return header_.element_count(); }

private:
    std::string path_;
    NpyHeader header_;
    unsigned char* base_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace nodulecad
