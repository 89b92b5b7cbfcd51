#pragma once
// Everything that defines one synthetic scan, drawn from (cohort seed, scan index, preset): geometry, anatomy,
// vessels, ribs, airways, findings, and the physics (noise, padding). Rendering is a pure function of this.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nodulecad/core/enum_names.hpp"
#include "nodulecad/synth/objects.hpp"

namespace nodulecad {

enum class Preset { Small, Demo, Full };
inline constexpr EnumName<Preset> kPresetNames[] = {{Preset::Small, "small"}, {Preset::Demo, "demo"}, {Preset::Full, "full"}};
inline std::string preset_name(Preset p) { return enum_name(p, kPresetNames); }

struct ScanSpec {
    std::string uid;
    int index = 0;
    int subset = 0;
    Preset preset = Preset::Small;
    std::uint64_t cohort_seed = 0;
    std::uint64_t scan_seed = 0;  // all of this scan's random streams derive from it
    Geometry geometry;
    bool flipped = false;          // direction diag(-1, -1, 1)
    double slice_thickness = 2.5;  // mm, FWHM of the z blur
    double padding_hu = -2000;     // outside the reconstruction circle
    double noise_sigma = 20;       // white noise, HU
    double correlated_sigma = 10;  // low-frequency noise, HU
    Anatomy anatomy;
    VesselTree vessels;
    std::vector<Capsule> ribs, airways;
    std::vector<Finding> findings;
};

// LUNA-like series uid: "1.3.6.1.4.1.14519.5.2.1.6279.6001." + 30 digits derived from (seed, index).
std::string synthetic_uid(std::uint64_t seed, int index);

ScanSpec draw_scan_spec(Preset preset, std::uint64_t cohort_seed, int index, bool flipped);

}  // namespace nodulecad
