#pragma once
// The chest model of the synthetic generator, in world millimetres (LPS: +x patient left, +y posterior,
// +z superior). Shapes are signed distance approximations (negative inside), so the same functions place objects
// (vessels, nodules) and render partial-volume edges. See docs/synth.md for the model and its numbers.
#include <algorithm>
#include <cmath>

#include "nodulecad/core/geometry.hpp"
#include "nodulecad/core/random.hpp"

namespace nodulecad {

struct Anatomy {
    // Body (elliptic cylinder) and the subcutaneous fat layer.
    double cx = 0, cy = 0;        // body axis (x, y)
    double ax = 150, ay = 110;    // body semi-axes
    double fat = 15;              // fat thickness
    double wall = 16;             // inner body (muscle) to lung distance: muscle, ribs, pleura
    // Lungs span z_lo (deepest costophrenic recess) .. z_hi (apex).
    double z_lo = -250, z_hi = 0;
    double mediastinum = 18;      // half-width of the midline band no lung crosses (|x - cx| > this)
    // Upper mediastinum (great vessels, thymus): an elliptic column above the heart that the lungs wrap around.
    double upper_x = 0, upper_y = 0, upper_a = 30, upper_b = 35, upper_top = 0;
    double dome[2] = {70, 60};    // diaphragm dome heights above z_lo, right (0) and left (1)
    // Heart (ellipsoid), pericardial fat shell, descending aorta, spine, trachea, couch.
    Vec3 heart{0, 0, 0}, heart_r{55, 45, 50};
    double pericardial_fat = 3;
    double aorta_x = 28, aorta_y = 0, aorta_r = 12, aorta_top = 0;
    double spine_x = 0, spine_y = 0, spine_r = 17, disc_period = 28, disc_phase = 0;
    double trachea_x = 0, trachea_y = 0, trachea_r = 9, carina_z = 0;
    double couch_y = 0, couch_thickness = 7, couch_curvature = 350, couch_half_width = 180;
    // Intensities (HU).
    double air_hu = -1000, fat_hu = -100, muscle_hu = 40, lung_hu = -850, heart_hu = 45, blood_hu = 40;
    double vertebra_hu = 260, disc_hu = 90, cortical_hu = 750, marrow_hu = 250, couch_hu = 400, vessel_hu = 40;
    double lung_gradient_hu = 40;  // posterior (dependent) lung is denser by about this much
};

// Draws a plausible chest centred at (cx, cy) whose body fits a reconstruction circle of radius fov_radius,
// lungs from z_lo to z_lo + height.
Anatomy draw_anatomy(Rng& rng, double cx, double cy, double fov_radius, double z_lo, double height);

// Anti-aliased occupancy of a point at signed distance d (mm) for a sampling width w (mm): 1 inside, 0 outside.
inline double coverage(double d, double w) { return std::clamp(0.5 - d / w, 0.0, 1.0); }

// Approximate signed distance to the ellipse ((x-x0)/a)^2 + ((y-y0)/b)^2 = 1 (first-order: f / |grad f|), with
// the reciprocals computed once: the renderer evaluates several ellipses for every voxel.
struct Ellipse {
    double x0 = 0, y0 = 0, ia = 0, ib = 0, gmin = 0;
    bool valid = false;
    Ellipse() = default;
    Ellipse(double cx, double cy, double a, double b)
        : x0(cx), y0(cy), ia(a > 0 ? 1 / a : 0), ib(b > 0 ? 1 / b : 0), gmin(a > 0 && b > 0 ? 2.0 / std::max(a, b) : 0),
          valid(a > 0 && b > 0) {}
    double distance(double x, double y) const {
        if (!valid) return 1e9;
        const double u = (x - x0) * ia, v = (y - y0) * ib;
        const double f = u * u + v * v - 1.0;
        const double gx = 2 * u * ia, gy = 2 * v * ib;
        return f / std::max(std::sqrt(gx * gx + gy * gy), gmin);
    }
};

inline double ellipse_distance(double x, double y, double x0, double y0, double a, double b) {
    return Ellipse(x0, y0, a, b).distance(x, y);
}

// Everything about the lungs that depends only on z, computed once per slice.
struct LungSlice {
    double z = 0;
    bool present = false;
    double inner_a = 0, inner_b = 0;  // thoracic cavity ellipse at this z (apex taper applied)
    double heart_a = 0, heart_b = 0;  // heart cross-section semi-axes (0 = none)
    bool aorta = false;
    Ellipse thorax, heart, upper, oesophagus;  // precomputed cross-sections
    bool upper_present = false;
};

LungSlice lung_slice(const Anatomy& a, double z);
// Signed distance (mm) to lung `side` (0 = right, x < cx; 1 = left) at (x, y) on the slice.
double lung_distance(const Anatomy& a, const LungSlice& s, int side, double x, double y);
inline double lung_distance(const Anatomy& a, int side, const Vec3& w) {
    return lung_distance(a, lung_slice(a, w[2]), side, w[0], w[1]);
}
// Distance to whichever lung is nearer.
inline double lungs_distance(const Anatomy& a, const Vec3& w) {
    const LungSlice s = lung_slice(a, w[2]);
    return std::min(lung_distance(a, s, 0, w[0], w[1]), lung_distance(a, s, 1, w[0], w[1]));
}

}  // namespace nodulecad
