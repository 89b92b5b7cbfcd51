#include "nodulecad/synth/anatomy.hpp"

namespace nodulecad {

Anatomy draw_anatomy(Rng& rng, double cx, double cy, double fov_radius, double z_lo, double height) {
    Anatomy a;
    a.cx = cx;
    a.cy = cy;
    // Adult chest: 270-340 mm wide, 190-250 mm deep, shrunk if the field of view is small.
    a.ax = std::min(rng.uniform(135, 170), 0.86 * fov_radius);
    a.ay = std::min(rng.uniform(95, 125), 0.70 * fov_radius);
    a.fat = std::min(rng.uniform(6, 25), 0.12 * a.ax);
    a.wall = rng.uniform(14, 18);
    a.z_lo = z_lo;
    a.z_hi = z_lo + height;
    a.mediastinum = 0.09 * a.ax + rng.uniform(0, 4);
    a.dome[0] = height * rng.uniform(0.22, 0.30);  // right dome sits higher (liver)
    a.dome[1] = a.dome[0] * rng.uniform(0.78, 0.92);

    const double inner_ax = a.ax - a.fat, inner_ay = a.ay - a.fat;
    a.heart = {cx + 0.12 * inner_ax, cy - 0.12 * inner_ay, z_lo + height * rng.uniform(0.24, 0.32)};
    a.heart_r = {0.36 * inner_ax * rng.uniform(0.9, 1.1), 0.42 * inner_ay * rng.uniform(0.9, 1.1),
                 height * rng.uniform(0.17, 0.21)};
    a.spine_x = cx;
    a.spine_y = cy + inner_ay - 40;
    a.spine_r = rng.uniform(15, 19);
    a.disc_period = rng.uniform(26, 31);
    a.disc_phase = rng.uniform(0, a.disc_period);
    a.aorta_r = rng.uniform(10, 13);
    a.aorta_x = cx + a.spine_r + a.aorta_r + 1;
    a.aorta_y = a.spine_y - 10;
    a.aorta_top = z_lo + height * 0.72;
    a.upper_x = cx + rng.uniform(-4, 6);
    a.upper_y = cy - 0.25 * inner_ay;
    a.upper_a = 0.2 * inner_ax * rng.uniform(0.9, 1.15);
    a.upper_b = 0.35 * inner_ay * rng.uniform(0.9, 1.1);
    a.upper_top = z_lo + height * rng.uniform(0.72, 0.8);
    a.trachea_x = cx + rng.uniform(-3, 3);
    a.trachea_y = a.spine_y - a.spine_r - rng.uniform(22, 30);
    a.trachea_r = rng.uniform(7.5, 10);
    a.carina_z = z_lo + height * rng.uniform(0.58, 0.66);
    a.couch_y = cy + a.ay + rng.uniform(2, 15);
    a.couch_thickness = rng.uniform(5, 10);
    a.couch_curvature = rng.uniform(300, 500);
    a.couch_half_width = a.ax + rng.uniform(10, 40);

    a.air_hu = -1000 + rng.uniform(-8, 8);
    a.fat_hu = rng.uniform(-115, -85);
    a.muscle_hu = rng.uniform(30, 55);
    a.lung_hu = rng.uniform(-875, -825);
    a.heart_hu = rng.uniform(35, 55);
    a.blood_hu = rng.uniform(30, 50);
    a.vessel_hu = rng.uniform(25, 55);
    a.vertebra_hu = rng.uniform(200, 320);
    a.disc_hu = rng.uniform(70, 100);
    a.cortical_hu = rng.uniform(650, 1100);
    a.marrow_hu = rng.uniform(220, 330);
    a.couch_hu = rng.uniform(250, 600);
    a.lung_gradient_hu = rng.uniform(20, 60);
    return a;
}

LungSlice lung_slice(const Anatomy& a, double z) {
    LungSlice s;
    s.z = z;
    const double h = a.z_hi - a.z_lo;
    const double t = (z - a.z_lo) / h;
    if (t < 0 || t > 1) return s;
    // Apex taper: the thoracic cavity narrows over the top half, so the lungs end in small apices.
    const double taper = t <= 0.5 ? 1.0 : std::sqrt(std::max(0.0, 1.0 - std::pow((t - 0.5) / 0.5, 2)));
    // The chest is widest at the lung bases and narrows towards the apices.
    s.inner_a = (a.ax - a.fat) * taper * (1.0 - 0.12 * std::clamp(t, 0.0, 0.5));
    s.inner_b = (a.ay - a.fat) * (0.35 + 0.65 * taper);
    s.present = s.inner_a - a.wall > a.mediastinum;
    const double hz = (z - a.heart[2]) / a.heart_r[2];
    if (std::fabs(hz) < 1) {
        const double k = std::sqrt(1 - hz * hz);
        s.heart_a = a.heart_r[0] * k;
        s.heart_b = a.heart_r[1] * k;
    }
    s.aorta = z <= a.aorta_top;
    s.thorax = Ellipse(a.cx, a.cy, s.inner_a, s.inner_b);
    s.heart = Ellipse(a.heart[0], a.heart[1], s.heart_a, s.heart_b);
    s.upper_present = z > a.heart[2] && z < a.upper_top;
    if (s.upper_present) {
        const double fade = std::min(1.0, (a.upper_top - z) / 20);  // the column rounds off at its top
        s.upper = Ellipse(a.upper_x, a.upper_y, a.upper_a * fade, a.upper_b * fade);
    }
    s.oesophagus = Ellipse(a.trachea_x, (a.trachea_y + a.spine_y) / 2, 14, 0.5 * (a.spine_y - a.trachea_y) + 12);
    return s;
}

double lung_distance(const Anatomy& a, const LungSlice& s, int side, double x, double y) {
    if (!s.present) return 1e9;
    // Inside the thoracic cavity, a wall's thickness in from the inner body surface...
    double d = s.thorax.distance(x, y) + a.wall;
    // ...on its own side of the mediastinum...
    const double lateral = side == 0 ? a.cx - x : x - a.cx;
    d = std::max(d, a.mediastinum - lateral);
    // ...outside the heart, aorta and spine (with pleural margins). Each term only matters within a few cm of
    // its organ (far away it is far below any distance the generator or renderer looks at), so a cheap box test
    // skips it.
    constexpr double kReach = 40;
    const auto near = [&](double ox, double oy, double ra, double rb) {
        return std::fabs(x - ox) < ra + kReach && std::fabs(y - oy) < rb + kReach;
    };
    if (s.heart_a > 0 && near(a.heart[0], a.heart[1], s.heart_a, s.heart_b))
        d = std::max(d, -(s.heart.distance(x, y) - a.pericardial_fat - 2));
    if (s.aorta && near(a.aorta_x, a.aorta_y, a.aorta_r, a.aorta_r))
        d = std::max(d, -(std::hypot(x - a.aorta_x, y - a.aorta_y) - a.aorta_r - 3));
    if (near(a.spine_x, a.spine_y, a.spine_r, a.spine_r))
        d = std::max(d, -(std::hypot(x - a.spine_x, y - a.spine_y) - a.spine_r - 6));
    if (s.upper_present && near(a.upper_x, a.upper_y, a.upper_a, a.upper_b)) d = std::max(d, -(s.upper.distance(x, y) - 3));
    // The oesophagus and trachea region between the upper column and the spine.
    if (near(s.oesophagus.x0, s.oesophagus.y0, 14, 1 / s.oesophagus.ib)) d = std::max(d, -(s.oesophagus.distance(x, y) - 2));
    // ...and above the diaphragm dome, which bulges up under the middle of each lung and falls away to the
    // lateral and posterior recesses.
    const double sign = side == 0 ? -1.0 : 1.0;
    const double half = 0.5 * ((a.ax - a.fat) - a.mediastinum);
    const double fx = (x - (a.cx + sign * (a.mediastinum + half))) / (1.1 * half);
    const double fy = (y - (a.cy - 0.1 * (a.ay - a.fat))) / (0.95 * (a.ay - a.fat));
    const double bump = std::max(0.0, 1 - fx * fx - fy * fy);
    const double dome_z = a.z_lo + a.dome[side] * bump;
    d = std::max(d, dome_z - s.z);
    return d;
}

}  // namespace nodulecad
