#include "nodulecad/synth/scan_spec.hpp"

#include <cmath>

namespace nodulecad {

std::string synthetic_uid(std::uint64_t seed, int index) {
    Rng rng = Rng::derive(seed, {static_cast<std::uint64_t>(index), 0x5E41A1ULL});
    std::string digits = std::to_string(1 + rng.next() % 9);
    while (digits.size() < 30) digits += static_cast<char>('0' + rng.next() % 10);
    return "1.3.6.1.4.1.14519.5.2.1.6279.6001." + digits;
}

namespace {
// LUNA16's slice spacings, roughly in their proportions.
double draw_slice_spacing(Rng& rng) {
    const double u = rng.uniform();
    if (u < 0.10) return 0.625;
    if (u < 0.20) return 1.0;
    if (u < 0.50) return 1.25;
    if (u < 0.55) return 1.5;
    if (u < 0.70) return 2.0;
    return 2.5;
}
}  // namespace

ScanSpec draw_scan_spec(Preset preset, std::uint64_t cohort_seed, int index, bool flipped) {
    ScanSpec s;
    s.uid = synthetic_uid(cohort_seed, index);
    s.index = index;
    s.subset = index % 10;
    s.preset = preset;
    s.cohort_seed = cohort_seed;
    s.scan_seed = mix64(cohort_seed * 0x100000001b3ULL + static_cast<std::uint64_t>(index) + 1);
    s.flipped = flipped;
    Rng rng = Rng::derive(s.scan_seed, {1});

    // Geometry: full = LUNA16-like 512x512; the smaller presets keep the field of view with coarser pixels.
    // Pixel spacing = a whole-millimetre field of view over 512 pixels, as scanners write it (e.g. 360/512).
    const double full_pixel = std::round(rng.uniform(0.5, 0.98) * 512) / 512;
    const double full_slice = draw_slice_spacing(rng);
    int n_xy = 512;
    double pixel = full_pixel, slice = full_slice;
    if (preset == Preset::Demo) {
        n_xy = 256;
        pixel = full_pixel * 2;
        slice = 2.5;
    } else if (preset == Preset::Small) {
        n_xy = 128;
        pixel = full_pixel * 4;
        slice = std::round(rng.uniform(2.5, 3.5) * 8) / 8;
    }
    const double fov = n_xy * pixel;
    const double height = rng.uniform(205, 260);           // lung base to apex
    const double below = rng.uniform(25, 55), above = rng.uniform(10, 30);
    const double z0 = std::round(rng.uniform(-420, -90) * 4) / 4;
    const double length = below + height + above;
    const auto nz = static_cast<std::int64_t>(std::ceil(length / slice)) + 1;
    const double xc = std::round(rng.uniform(-25, 25) * 10) / 10, yc = std::round(rng.uniform(-20, 40) * 10) / 10;  // world position of the image centre

    Geometry& g = s.geometry;
    g.size = {n_xy, n_xy, nz};
    g.spacing = {pixel, pixel, slice};
    const double half = (n_xy - 1) / 2.0 * pixel;
    if (flipped) {
        // LUNA16's TransformMatrix -1 0 0 0 -1 0 0 0 1: voxel (0,0,0) sits at the +x +y corner.
        g.direction = {-1, 0, 0, 0, -1, 0, 0, 0, 1};
        g.origin = {xc + half, yc + half, z0};
    } else {
        g.direction = identity3();
        g.origin = {xc - half, yc - half, z0};
    }
    s.slice_thickness = slice;
    s.padding_hu = rng.chance(0.6) ? -2000 : -3024;
    s.noise_sigma = rng.uniform(10, 60);
    s.correlated_sigma = s.noise_sigma * rng.uniform(0.3, 0.6);

    const double fov_radius = fov / 2;
    Rng anatomy_rng = Rng::derive(s.scan_seed, {2});
    s.anatomy = draw_anatomy(anatomy_rng, xc + rng.uniform(-12, 12), yc + rng.uniform(-20, 5), fov_radius, z0 + below, height);
    Rng vessel_rng = Rng::derive(s.scan_seed, {3});
    s.vessels = grow_vessels(s.anatomy, vessel_rng);
    Rng rib_rng = Rng::derive(s.scan_seed, {4});
    s.ribs = make_ribs(s.anatomy, rib_rng);
    s.airways = make_airways(s.anatomy, rib_rng);
    Rng finding_rng = Rng::derive(s.scan_seed, {5});
    s.findings = place_findings(s.anatomy, s.vessels, finding_rng);
    return s;
}

}  // namespace nodulecad
