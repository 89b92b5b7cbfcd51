#pragma once
// Volumes with distinctive voxel values for MetaImage tests, and a way to write hand-made header + data files.
#include <cstring>
#include <limits>
#include <string>

#include "nodulecad/core/volume.hpp"
#include "test_util.hpp"

namespace nodulecad::test {

// Values spread over T's range so byte order and sign mistakes show.
template <class T> Volume<T> patterned_volume(const Geometry& g) {
    Volume<T> v(g);
    for (std::size_t n = 0; n < v.voxels.size(); ++n) {
        if constexpr (std::is_floating_point_v<T>)
            v.voxels[n] = static_cast<T>(-1024.5 + 3.25 * static_cast<double>(n % 997) + 1e-3 * static_cast<double>(n));
        else
            v.voxels[n] = static_cast<T>(static_cast<std::uint64_t>(n) * 2654435761u);
    }
    return v;
}

inline Geometry small_geometry(const Mat3& d = identity3()) {
    Geometry g;
    g.size = {7, 5, 3};
    g.spacing = {0.703125, 0.8, 2.5};
    g.origin = {-172.9, 200.1, -335.5};
    g.direction = d;
    return g;
}

// Raw bytes of a volume, optionally byte-swapped to big-endian.
template <class T> std::string raw_bytes(const Volume<T>& v, bool big_endian) {
    std::string out(reinterpret_cast<const char*>(v.voxels.data()), v.voxels.size() * sizeof(T));
    if (big_endian)
        for (std::size_t n = 0; n < out.size(); n += sizeof(T)) std::reverse(out.begin() + static_cast<long>(n), out.begin() + static_cast<long>(n + sizeof(T)));
    return out;
}

}  // namespace nodulecad::test
