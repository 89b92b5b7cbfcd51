#pragma once
// A slice of a volume as a picture, in world orientation whatever the direction matrix: axial views have the
// patient's right on the left and anterior at the top (radiological convention), coronal and sagittal views
// have superior at the top. Pixels are square in millimetres (coronal/sagittal are resampled along z).
#include <cstdint>
#include <optional>
#include <string_view>

#include "nodulecad/core/enum_names.hpp"
#include "nodulecad/core/volume.hpp"
#include "nodulecad/io/png.hpp"

namespace nodulecad {

enum class Plane { Axial, Coronal, Sagittal };
inline constexpr EnumName<Plane> kPlaneNames[] = {{Plane::Axial, "axial"}, {Plane::Coronal, "coronal"}, {Plane::Sagittal, "sagittal"}};

struct SliceViewOptions {
    Plane plane = Plane::Axial;
    Vec3 world_point{};               // the slice passes through this point
    double window_lo = -1000, window_hi = 400;  // HU mapped to black..white
    const Volume<std::uint8_t>* overlay = nullptr;  // non-zero voxels tinted red (same geometry as the volume)
};

// World point at the centre of the volume.
Vec3 volume_centre(const Geometry& g);

Image render_slice_view(const Volume<std::int16_t>& volume, const SliceViewOptions& opts);

// A close-up of a finding: the axial plane through `centre`, `field_mm` across, oriented as render_slice_view,
// sampled trilinearly (outside the scan is air), with a ring of `ring_diameter_mm` around the centre — or a
// cross-hair with a gap over the finding when the diameter is unknown (0 or NaN). A 4 mm nodule is a few pixels of a
// whole slice; here it is tens.
struct ZoomViewOptions {
    Vec3 centre{};
    double field_mm = 60;
    int pixels = 240;
    double window_lo = -1000, window_hi = 400;
    double ring_diameter_mm = 0;
    const Volume<std::uint8_t>* overlay = nullptr;  // non-zero voxels (nearest) tinted red; the volume's geometry
};
Image render_zoom_view(const Volume<std::int16_t>& volume, const ZoomViewOptions& opts);

}  // namespace nodulecad
