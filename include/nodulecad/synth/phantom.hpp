#pragma once
// A small chest-like phantom on any geometry: air (-1000 HU), an elliptic body (40 HU), two ellipsoidal lungs
// (-850 HU) and one solid nodule (40 HU) placed at a world position, so geometry handling is visible end to end.
#include "nodulecad/core/geometry.hpp"
#include "nodulecad/core/volume.hpp"

namespace nodulecad {

struct PhantomSpec {
    Geometry geometry;
    double nodule_diameter_mm = 10.0;
};

struct Phantom {
    Volume<std::int16_t> scan;
    Vec3 nodule_world{};  // centre of the nodule, world mm
    double nodule_diameter_mm = 0;
};

// Shapes are defined in world mm around the volume's world centre, so any direction matrix or spacing gives the
// same anatomy in world space.
Phantom make_phantom(const PhantomSpec& spec);

}  // namespace nodulecad
