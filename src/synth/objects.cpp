#include "nodulecad/synth/objects.hpp"
#include "nodulecad/core/math.hpp"

#include <algorithm>
#include <array>

namespace nodulecad {

namespace {


Vec3 add(const Vec3& a, const Vec3& b) { return {a[0] + b[0], a[1] + b[1], a[2] + b[2]}; }
Vec3 sub(const Vec3& a, const Vec3& b) { return {a[0] - b[0], a[1] - b[1], a[2] - b[2]}; }
Vec3 scale(const Vec3& a, double s) { return {a[0] * s, a[1] * s, a[2] * s}; }
double dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
double norm(const Vec3& a) { return std::sqrt(dot(a, a)); }
Vec3 normalized(const Vec3& a) { return scale(a, 1.0 / std::max(norm(a), 1e-12)); }
Vec3 cross(const Vec3& a, const Vec3& b) {
    return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}

Vec3 random_unit(Rng& rng) {
    const double z = rng.uniform(-1, 1), phi = rng.uniform(0, 2 * kPi), r = std::sqrt(1 - z * z);
    return {r * std::cos(phi), r * std::sin(phi), z};
}

// Direction d turned by `angle` radians towards a random perpendicular direction.
Vec3 deflect(const Vec3& d, double angle, Rng& rng) {
    Vec3 perp = cross(d, random_unit(rng));
    perp = normalized(perp);
    return normalized(add(scale(d, std::cos(angle)), scale(perp, std::sin(angle))));
}

Mat3 random_rotation(Rng& rng) {
    const Vec3 a = random_unit(rng);
    Vec3 b = normalized(cross(a, random_unit(rng)));
    const Vec3 c = cross(a, b);
    return {a[0], b[0], c[0], a[1], b[1], c[1], a[2], b[2], c[2]};
}

}  // namespace

double capsule_distance(const Capsule& c, const Vec3& w) {
    const Vec3 v = sub(c.p1, c.p0);
    const double len2 = dot(v, v);
    const double t = len2 > 0 ? std::clamp(dot(sub(w, c.p0), v) / len2, 0.0, 1.0) : 0.0;
    const Vec3 q = add(c.p0, scale(v, t));
    return norm(sub(w, q)) - (c.r0 + t * (c.r1 - c.r0));
}

VesselTree grow_vessels(const Anatomy& a, Rng& rng, double min_radius) {
    VesselTree tree;
    struct Branch {
        Vec3 p, dir;
        double r;
        Vec3 target;  // the region of lung this branch heads for
        int side;
    };
    // A random point of lung `side`, optionally within `reach` mm of `near` and within a z band.
    const auto lung_point = [&](int side, const Vec3* near, double reach, double z_lo, double z_hi, Vec3& out) {
        for (int attempt = 0; attempt < 40; ++attempt) {
            Vec3 c;
            if (near) {
                c = add(*near, scale(random_unit(rng), reach * std::cbrt(rng.uniform())));
            } else {
                const double sign = side == 0 ? -1.0 : 1.0;
                c = {a.cx + sign * rng.uniform(a.mediastinum, a.ax - a.fat), a.cy + rng.uniform(-1, 1) * (a.ay - a.fat),
                     rng.uniform(z_lo, z_hi)};
            }
            if (lung_distance(a, side, c) < -4) {
                out = c;
                return true;
            }
        }
        return false;
    };
    std::vector<Branch> stack;
    for (int side = 0; side < 2; ++side) {
        const double sign = side == 0 ? -1.0 : 1.0;
        const int roots = rng.integer(7, 9);  // lobar and segmental pulmonary arteries and veins
        for (int n = 0; n < roots; ++n) {
            Vec3 hilum{a.cx + sign * (a.mediastinum + rng.uniform(4, 10)), a.trachea_y + rng.uniform(0, 30),
                       a.carina_z - rng.uniform(10, 45)};
            Vec3 dir = normalized({sign, rng.uniform(-0.6, 0.6), rng.uniform(-0.7, 0.5)});
            const double r = rng.uniform(3.0, 4.5);  // lobar vessels 6-9 mm across, tapering below 1 mm
            // The heart and great vessels can cover the nominal hilum (on the left above all): move the root
            // laterally until it is inside the lung.
            for (int step = 0; step < 40 && lung_distance(a, side, hilum) > -r; ++step) hilum[0] += sign * 2;
            // Roots aim at different heights of the lung (base, middle, apex in turn) so the trees fill all of it.
            const double h = a.z_hi - a.z_lo;
            Vec3 target = hilum;
            lung_point(side, nullptr, 0, a.z_lo + h * (n % 3) / 3.0, a.z_lo + h * (n % 3 + 1) / 3.0, target);
            if (lung_distance(a, side, hilum) <= -r) stack.push_back({hilum, dir, r, target, side});
        }
    }
    const std::size_t max_segments = 20000;
    while (!stack.empty() && tree.segments.size() < max_segments) {
        const Branch b = stack.back();
        stack.pop_back();
        if (b.r < min_radius) continue;
        double len = std::min(30.0, rng.uniform(5, 11) + b.r * rng.uniform(2, 5));
        // Near the pleura, bend away from it (down the gradient of the lung distance) so trees fill the lung.
        Vec3 base_dir = b.dir;
        const Vec3 to_target = sub(b.target, b.p);
        if (norm(to_target) > 10) base_dir = normalized(add(base_dir, scale(normalized(to_target), 0.5)));
        const double here = lungs_distance(a, b.p);
        if (here > -12) {
            const double h = 1.0;
            const Vec3 grad{lungs_distance(a, add(b.p, {h, 0, 0})) - lungs_distance(a, add(b.p, {-h, 0, 0})),
                            lungs_distance(a, add(b.p, {0, h, 0})) - lungs_distance(a, add(b.p, {0, -h, 0})),
                            lungs_distance(a, add(b.p, {0, 0, h})) - lungs_distance(a, add(b.p, {0, 0, -h}))};
            if (norm(grad) > 1e-9) base_dir = normalized(sub(base_dir, scale(normalized(grad), 0.8)));
        }
        bool placed = false;
        Vec3 end{}, dir = base_dir;
        for (int attempt = 0; attempt < 10 && !placed; ++attempt) {
            dir = attempt == 0 ? deflect(base_dir, rng.uniform(0, 0.25), rng) : deflect(base_dir, rng.uniform(0.2, 1.4), rng);
            if (attempt == 5) len *= 0.5;
            end = add(b.p, scale(dir, len));
            placed = lungs_distance(a, end) < -std::max(b.r, 0.8);
        }
        if (!placed) continue;
        const double r_end = b.r * 0.92;
        tree.segments.push_back({b.p, end, b.r, r_end});
        // Asymmetric dichotomous branching (sometimes three children), children turning away from each other.
        const int children = rng.chance(0.12) ? 3 : 2;
        const Vec3 split = deflect(dir, kPi / 2, rng);  // plane of the split
        for (int c = 0; c < children; ++c) {
            const double angle = rng.uniform(0.3, 0.75) * (c == 0 ? 1 : -1) * (c == 2 ? 0.2 : 1);
            const Vec3 cd = normalized(add(scale(dir, std::cos(angle)), scale(split, std::sin(angle))));
            const double ratio = c == 0 ? rng.uniform(0.8, 0.92) : rng.uniform(0.65, 0.82);
            // The main child keeps heading for the branch's region; side branches pick a nearby one of their own.
            Vec3 target = b.target;
            if (c > 0) lung_point(b.side, &end, 60, 0, 0, target);
            stack.push_back({end, cd, r_end * ratio, target, b.side});
        }
    }
    return tree;
}

std::vector<Capsule> make_ribs(const Anatomy& a, Rng& rng) {
    std::vector<Capsule> ribs;
    const double h = a.z_hi - a.z_lo;
    const double ea = a.ax - a.fat - 5, eb = a.ay - a.fat - 5;  // along the inner chest wall
    const double spacing = h * rng.uniform(0.085, 0.095);
    for (int n = 0; n < 12; ++n) {
        const double z0 = a.z_hi - 5 - n * spacing;
        const double radius = rng.uniform(3.5, 5.0) * (n < 2 ? 0.8 : 1.0);
        const double drop = rng.uniform(30, 50);
        const double end_angle = n < 10 ? rng.uniform(2.3, 2.7) : rng.uniform(1.3, 1.8);  // floating ribs are short
        for (int side = 0; side < 2; ++side) {
            const double sign = side == 0 ? -1.0 : 1.0;
            const auto point = [&](double th) {
                const double u = (th - 0.25) / (end_angle - 0.25);
                return Vec3{a.cx + sign * ea * std::sin(th), a.cy + eb * std::cos(th), z0 - drop * u};
            };
            const int pieces = 14;
            for (int k = 0; k < pieces; ++k) {
                const double t0 = 0.25 + (end_angle - 0.25) * k / pieces, t1 = 0.25 + (end_angle - 0.25) * (k + 1) / pieces;
                ribs.push_back({point(t0), point(t1), radius, radius});
            }
        }
    }
    return ribs;
}

std::vector<Capsule> make_airways(const Anatomy& a, Rng& rng) {
    std::vector<Capsule> airways;
    const Vec3 carina{a.trachea_x, a.trachea_y, a.carina_z};
    airways.push_back({{a.trachea_x, a.trachea_y, a.z_hi + 200}, carina, a.trachea_r, a.trachea_r * 0.95});
    for (int side = 0; side < 2; ++side) {
        const double sign = side == 0 ? -1.0 : 1.0;
        // The right main bronchus is wider, shorter and steeper than the left.
        const double r = a.trachea_r * (side == 0 ? rng.uniform(0.68, 0.76) : rng.uniform(0.58, 0.66));
        const Vec3 hilum{a.cx + sign * (a.mediastinum + rng.uniform(6, 12)), a.trachea_y + rng.uniform(5, 15),
                         a.carina_z - (side == 0 ? rng.uniform(15, 22) : rng.uniform(22, 30))};
        airways.push_back({carina, hilum, r, r * 0.85});
    }
    return airways;
}

const char* finding_kind_name(FindingKind k) {
    switch (k) {
        case FindingKind::Solid: return "solid";
        case FindingKind::PartSolid: return "part-solid";
        case FindingKind::GroundGlass: return "ground-glass";
        case FindingKind::SmallNodule: return "small-nodule";
        case FindingKind::NonNodule: return "non-nodule";
    }
    return "?";
}

double Finding::bounding_radius() const {
    const double m = std::max({axes[0], axes[1], axes[2]});
    return diameter / 2 * m * (1 + lobulation) + 0.5;
}

double finding_distance(const Finding& f, const Vec3& w) {
    const Vec3 d = sub(w, f.centre);
    // Into the finding's own frame (columns of rotation are its axes).
    const Mat3& r = f.rotation;
    const Vec3 q{r[0] * d[0] + r[3] * d[1] + r[6] * d[2], r[1] * d[0] + r[4] * d[1] + r[7] * d[2],
                 r[2] * d[0] + r[5] * d[1] + r[8] * d[2]};
    const double radius = f.diameter / 2;
    const Vec3 s{q[0] / f.axes[0], q[1] / f.axes[1], q[2] / f.axes[2]};
    const double len = norm(s);
    double rr = radius;
    if (f.lobulation > 0 && len > 1e-9) {
        const Vec3 u = scale(s, 1.0 / len);
        rr *= 1 + f.lobulation * (std::sin(f.lobe_freq[0] * u[0] + f.lobe_phase[0]) *
                                      std::sin(f.lobe_freq[1] * u[1] + f.lobe_phase[1]) +
                                  0.5 * std::sin(f.lobe_freq[2] * u[2] + f.lobe_phase[2]));
    }
    // Scale back to mm with the mean axis multiplier (exact for spheres, close for mild ellipsoids).
    return (len - rr) * std::cbrt(f.axes[0] * f.axes[1] * f.axes[2]);
}

double draw_nodule_diameter(Rng& rng) {
    for (;;) {
        const double d = 3.0 + std::exp(1.329 + 0.824 * rng.normal());
        if (d >= 3.25 && d <= 32.27) return d;
    }
}

namespace {

void shape_finding(Finding& f, Rng& rng) {
    const double shape = rng.uniform();
    if (shape < 0.4) return;  // sphere
    // Ellipsoid with axis ratios 0.7-1.3 (volume kept), half of them also lobulated.
    Vec3 ax{rng.uniform(0.75, 1.3), rng.uniform(0.75, 1.3), rng.uniform(0.75, 1.3)};
    const double k = std::cbrt(ax[0] * ax[1] * ax[2]);
    f.axes = {ax[0] / k, ax[1] / k, ax[2] / k};
    f.rotation = random_rotation(rng);
    if (shape > 0.7 && f.diameter > 6) {
        f.lobulation = rng.uniform(0.06, 0.14);
        for (int i = 0; i < 3; ++i) {
            f.lobe_freq[i] = rng.integer(3, 6);
            f.lobe_phase[i] = rng.uniform(0, 2 * kPi);
        }
    }
}

bool overlaps(const std::vector<Finding>& placed, const Vec3& c, double r) {
    for (const auto& p : placed)
        if (norm(sub(p.centre, c)) < p.bounding_radius() + r + 3) return true;
    return false;
}

// A point just inside the pleura, found by marching from inside the lung towards the chest wall.
bool pleural_point(const Anatomy& a, Rng& rng, double r, Vec3& out) {
    const int side = rng.integer(0, 1);
    const double sign = side == 0 ? -1.0 : 1.0;
    const double z = a.z_lo + (a.z_hi - a.z_lo) * rng.uniform(0.15, 0.8);
    const LungSlice s = lung_slice(a, z);
    if (!s.present) return false;
    const double start_x = a.cx + sign * (a.mediastinum + 0.5 * (s.inner_a - a.wall - a.mediastinum));
    const Vec3 start{start_x, a.cy, z};
    if (lung_distance(a, s, side, start[0], start[1]) > -2) return false;
    const double phi = rng.uniform(-1.9, 1.9);  // facing the lateral, anterior or posterior wall, not the mediastinum
    const Vec3 dir{sign * std::cos(phi), std::sin(phi), 0};
    double lo = 0, hi = 0;
    for (double t = 1; t < 250; t += 1)
        if (lung_distance(a, s, side, start[0] + t * dir[0], start[1] + t * dir[1]) >= 0) {
            hi = t;
            break;
        }
    if (hi == 0) return false;
    lo = hi - 1;
    for (int it = 0; it < 30; ++it) {
        const double mid = 0.5 * (lo + hi);
        (lung_distance(a, s, side, start[0] + mid * dir[0], start[1] + mid * dir[1]) < 0 ? lo : hi) = mid;
    }
    const double t = lo - 0.85 * r;  // the nodule touches the pleura
    out = {start[0] + t * dir[0], start[1] + t * dir[1], z};
    return lung_distance(a, s, side, out[0], out[1]) < -0.5 * r;
}

bool interior_point(const Anatomy& a, Rng& rng, double r, Vec3& out) {
    for (int attempt = 0; attempt < 200; ++attempt) {
        const Vec3 c{a.cx + rng.uniform(-1, 1) * (a.ax - a.fat), a.cy + rng.uniform(-1, 1) * (a.ay - a.fat),
                     rng.uniform(a.z_lo, a.z_hi)};
        if (lungs_distance(a, c) < -(r + 2)) {
            out = c;
            return true;
        }
    }
    return false;
}

// The vessels a nodule is placed against, and labelled juxtavascular for touching: at least 1.6 mm across.
constexpr double kAttachVesselRadiusMm = 0.8;

bool vessel_point(const Anatomy& a, const VesselTree& v, Rng& rng, double r, Vec3& out) {
    for (int attempt = 0; attempt < 50 && !v.segments.empty(); ++attempt) {
        const Capsule& s = v.segments[static_cast<std::size_t>(rng.uniform() * static_cast<double>(v.segments.size()))];
        if (s.r0 < kAttachVesselRadiusMm) continue;
        const Vec3 mid = scale(add(s.p0, s.p1), 0.5);
        const Vec3 axis = normalized(sub(s.p1, s.p0));
        const Vec3 perp = normalized(cross(axis, random_unit(rng)));
        const Vec3 c = add(mid, scale(perp, 0.9 * (r + 0.5 * (s.r0 + s.r1))));
        if (lungs_distance(a, c) < -(0.6 * r)) {
            out = c;
            return true;
        }
    }
    return false;
}

}  // namespace

bool touches_vessel(const VesselTree& v, const Vec3& c, double diameter) {
    for (const Capsule& s : v.segments)
        if (s.r0 >= kAttachVesselRadiusMm && capsule_distance(s, c) <= diameter / 2 + 0.5) return true;
    return false;
}

double exposed_fraction(const VesselTree& v, const Finding& f) {
    const double r = f.bounding_radius();
    std::vector<const Capsule*> near;
    for (const Capsule& s : v.segments)
        if (capsule_distance(s, f.centre) < r) near.push_back(&s);
    constexpr int m = 10;  // lattice points per bounding radius: 21^3 candidates, about 4,400 inside a sphere
    int inside = 0, exposed = 0;
    for (int a = -m; a <= m; ++a)
        for (int b = -m; b <= m; ++b)
            for (int c = -m; c <= m; ++c) {
                const Vec3 p = add(f.centre, scale(Vec3{double(a), double(b), double(c)}, r / m));
                if (finding_distance(f, p) >= 0) continue;
                ++inside;
                exposed += std::none_of(near.begin(), near.end(), [&](const Capsule* s) { return capsule_distance(*s, p) < 0; }) ? 1 : 0;
            }
    return inside > 0 ? double(exposed) / inside : 1.0;
}

std::vector<Finding> place_findings(const Anatomy& a, const VesselTree& vessels, Rng& rng) {
    std::vector<Finding> out;
    // LUNA16: 1,186 nodules in 888 scans, 601 with at least one. About a quarter of scans here have none; the
    // others 1-6, mean about 1.9.
    int count = 0;
    if (!rng.chance(0.26)) {
        count = 1;
        while (count < 6 && rng.chance(0.45)) ++count;
    }
    for (int n = 0; n < count; ++n) {
        Finding f;
        f.diameter = draw_nodule_diameter(rng);
        const double kind = rng.uniform();
        f.kind = kind < 0.74 ? FindingKind::Solid : kind < 0.86 ? FindingKind::PartSolid : FindingKind::GroundGlass;
        if (f.kind == FindingKind::Solid) {
            f.hu = rng.uniform(-60, 90);
        } else {
            f.hu = rng.uniform(-680, -320);
            if (f.kind == FindingKind::PartSolid) {
                f.core_hu = rng.uniform(-40, 80);
                f.core_fraction = rng.uniform(0.3, 0.6);
            }
        }
        shape_finding(f, rng);
        const double r = f.bounding_radius();
        // About a quarter of nodules sit on the pleura (juxtapleural), a sixth touch a vessel, the rest float free.
        const double where = rng.uniform();
        bool ok = false;
        for (int attempt = 0; attempt < 30 && !ok; ++attempt) {
            Vec3 c{};
            if (where < 0.26) {
                ok = pleural_point(a, rng, f.diameter / 2, c);
                f.juxtapleural = ok;
            } else if (where < 0.42) {
                ok = vessel_point(a, vessels, rng, f.diameter / 2, c);
                f.juxtavascular = ok;
            } else {
                ok = interior_point(a, rng, r, c);
            }
            if (ok && overlaps(out, c, r)) ok = false;
            if (ok) f.centre = c;
        }
        if (!ok) {  // fall back to any interior position
            Vec3 c{};
            f.juxtapleural = f.juxtavascular = false;
            for (int attempt = 0; attempt < 30 && !ok; ++attempt) ok = interior_point(a, rng, r, c) && !overlaps(out, c, r);
            if (!ok) continue;
            f.centre = c;
        }
        // The label says what the scan shows: an interior point can fall against a vessel (a nodule placed
        // against one always passes). No rng is drawn here, so every cohort renders as before.
        f.juxtavascular = touches_vessel(vessels, f.centre, f.diameter);
        // ...or inside one: a nodule mostly within vessels shows as a vessel and is no annotation (drawn all the
        // same, so the scan and every later draw are unchanged).
        f.hidden = exposed_fraction(vessels, f) < kMinExposedFraction;
        out.push_back(f);
    }
    // Findings that count neither for nor against a detector: nodules under 3 mm (annotated with their diameter)
    // and nodule-like non-nodules such as calcified granulomas (diameter -1 in LUNA16's excluded list).
    const int small = rng.integer(0, 3), non_nodules = rng.integer(0, 2);
    for (int n = 0; n < small + non_nodules; ++n) {
        Finding f;
        f.kind = n < small ? FindingKind::SmallNodule : FindingKind::NonNodule;
        f.diameter = f.kind == FindingKind::SmallNodule ? rng.uniform(1.5, 2.9) : rng.uniform(2.5, 6);
        f.hu = f.kind == FindingKind::SmallNodule ? rng.uniform(-60, 80) : rng.uniform(250, 700);
        Vec3 c{};
        bool ok = false;
        for (int attempt = 0; attempt < 30 && !ok; ++attempt)
            ok = interior_point(a, rng, f.diameter / 2, c) && !overlaps(out, c, f.diameter / 2);
        if (!ok) continue;
        f.centre = c;
        out.push_back(f);
    }
    return out;
}

}  // namespace nodulecad
