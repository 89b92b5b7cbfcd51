#include "nodulecad/io/npy_map.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "nodulecad/core/error.hpp"

namespace nodulecad {

NpyMap::NpyMap(const std::string& path) : path_(path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || st.st_size <= 0) {
        ::close(fd);
        fail(path, "empty or unreadable file");
    }
    size_ = static_cast<std::size_t>(st.st_size);
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) fail(path, std::string("cannot map: ") + std::strerror(errno));
    base_ = static_cast<unsigned char*>(p);
    try {
        header_ = parse_npy_header(std::string_view(reinterpret_cast<const char*>(base_), size_), path);
        const std::uint64_t need = header_.element_count() * npy_element_size(header_);
        if (header_.data_offset + need > size_)
            fail(path, "npy data truncated: shape needs " + std::to_string(need) + " bytes, file holds " +
                           std::to_string(size_ - header_.data_offset));
        if (header_.big_endian) fail(path, "big-endian npy files cannot be memory-mapped");
    } catch (...) {
        ::munmap(base_, size_);
        throw;
    }
}

NpyMap::~NpyMap() {
    if (base_) ::munmap(base_, size_);
}

float NpyMap::value(std::uint64_t n) const {
    float v;
    values(n, 1, &v);
    return v;
}

void NpyMap::values(std::uint64_t first, std::size_t count, float* out) const {
    const unsigned char* d = data();
    if (header_.float16) {
        for (std::size_t i = 0; i < count; ++i) {
            std::uint16_t h;
            std::memcpy(&h, d + 2 * (first + i), 2);
            out[i] = half_to_float(h);
        }
        return;
    }
    dispatch_element_type(header_.dtype, [&](auto tag) {
        using T = decltype(tag);
        for (std::size_t i = 0; i < count; ++i) {
            T v;
            std::memcpy(&v, d + (first + i) * sizeof(T), sizeof(T));
            out[i] = static_cast<float>(v);
        }
        return 0;
    });
}

}  // namespace nodulecad
