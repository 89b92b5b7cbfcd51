#pragma once
// A 3D image: voxels (x fastest, then y, then z) on a Geometry. A 2D image is a volume with one slice.
#include <cstddef>
#include <cstdint>
#include <variant>
#include <vector>

#include "nodulecad/core/element_type.hpp"
#include "nodulecad/core/geometry.hpp"

namespace nodulecad {

template <class T> struct Volume {
    using value_type = T;
    Geometry geometry;
    std::vector<T> voxels;

    Volume() = default;
    explicit Volume(const Geometry& g, T fill = T{})
        : geometry(g), voxels(static_cast<std::size_t>(g.voxel_count()), fill) {}

    std::size_t offset(std::int64_t i, std::int64_t j, std::int64_t k) const {
        return static_cast<std::size_t>(i + geometry.size[0] * (j + geometry.size[1] * k));
    }
    T& at(std::int64_t i, std::int64_t j, std::int64_t k) { return voxels[offset(i, j, k)]; }
    const T& at(std::int64_t i, std::int64_t j, std::int64_t k) const { return voxels[offset(i, j, k)]; }
};

// A volume of whichever voxel type a file holds.
using AnyVolume = std::variant<Volume<std::int8_t>, Volume<std::uint8_t>, Volume<std::int16_t>,
                               Volume<std::uint16_t>, Volume<std::int32_t>, Volume<std::uint32_t>, Volume<float>,
                               Volume<double>>;

inline const Geometry& geometry_of(const AnyVolume& v) {
    return std::visit([](const auto& vol) -> const Geometry& { return vol.geometry; }, v);
}
inline ElementType element_type_of_volume(const AnyVolume& v) {
    return std::visit([](const auto& vol) { return element_type_of<typename std::decay_t<decltype(vol)>::value_type>; }, v);
}

// Converts (static_cast per voxel, no rescaling) or moves when the type already matches.
template <class T> Volume<T> convert_volume(AnyVolume&& any) {
    return std::visit(
        [](auto&& vol) -> Volume<T> {
            using S = typename std::decay_t<decltype(vol)>::value_type;
            if constexpr (std::is_same_v<S, T>) {
                return std::move(vol);
            } else {
                Volume<T> out;
                out.geometry = vol.geometry;
                out.voxels.resize(vol.voxels.size());
                for (std::size_t n = 0; n < vol.voxels.size(); ++n) out.voxels[n] = static_cast<T>(vol.voxels[n]);
                return out;
            }
        },
        std::move(any));
}

}  // namespace nodulecad
