#pragma once
// A slice of a volume as a picture, in world orientation whatever the direction matrix: axial views have the
// patient's right on the left and anterior at the top (radiological convention), coronal and sagittal views
// have superior at the top. Pixels are square in millimetres (coronal/sagittal are resampled along z).
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/volume.hpp"
#include "io/png.hpp"

namespace nodulecad {

enum class Plane { Axial, Coronal, Sagittal };
std::optional<Plane> plane_from_name(std::string_view name);

struct SliceViewOptions {
    Plane plane = Plane::Axial;
    Vec3 world_point{};               // the slice passes through this point
    double window_lo = -1000, window_hi = 400;  // HU mapped to black..white
    const Volume<std::uint8_t>* overlay = nullptr;  // non-zero voxels tinted red (same geometry as the volume)
};

// World point at the centre of the volume.
Vec3 volume_centre(const Geometry& g);

Image render_slice_view(const Volume<std::int16_t>& volume, const SliceViewOptions& opts);

}  // namespace nodulecad
