#include "nodulecad/synth/render.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/math.hpp"
#include "nodulecad/core/threads.hpp"

namespace nodulecad {

namespace {


// Which slices an object with world z extent [z0, z1] touches (inclusive range, clamped).
struct SliceRange {
    std::int64_t first, last;
};

struct Grid {
    std::int64_t nx, ny, nz;
    double ox, oy, oz, dx, dy, sz, px;  // world = (ox + dx*i, oy + dy*j, oz + sz*k); |dx| = |dy| = px
    double x(std::int64_t i) const { return ox + dx * static_cast<double>(i); }
    double y(std::int64_t j) const { return oy + dy * static_cast<double>(j); }
    double z(std::int64_t k) const { return oz + sz * static_cast<double>(k); }
    // Pixels in a slice. make_grid bounds nx and ny to 16 bits, and the 32-bit product tells the compiler so: GCC 13
    // otherwise cannot bound the size of the per-slice buffers and warns that their zero-fill may exceed memory.
    std::size_t plane() const { return static_cast<std::uint32_t>(nx) * static_cast<std::uint32_t>(ny); }
    SliceRange slices(double z0, double z1) const {
        const auto first = static_cast<std::int64_t>(std::ceil((z0 - oz) / sz));
        const auto last = static_cast<std::int64_t>(std::floor((z1 - oz) / sz));
        return {std::max<std::int64_t>(first, 0), std::min(last, nz - 1)};
    }
    // Index range [lo, hi] covering world interval [a, b] along an in-plane axis.
    static void span(double a, double b, double o, double d, std::int64_t n, std::int64_t& lo, std::int64_t& hi) {
        double ia = (a - o) / d, ib = (b - o) / d;
        if (ia > ib) std::swap(ia, ib);
        lo = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(ia)));
        hi = std::min<std::int64_t>(n - 1, static_cast<std::int64_t>(std::ceil(ib)));
    }
};

Grid make_grid(const Geometry& g) {
    const Mat3& d = g.direction;
    if (d[1] != 0 || d[2] != 0 || d[3] != 0 || d[5] != 0 || d[6] != 0 || d[7] != 0 || d[8] != 1 ||
        std::fabs(d[0]) != 1 || std::fabs(d[4]) != 1 || g.spacing[0] != g.spacing[1])
        throw Error("synthetic scans need square pixels and a direction of diag(+-1, +-1, 1)");
    if (g.size[0] < 1 || g.size[1] < 1 || g.size[0] > 65535 || g.size[1] > 65535)
        throw Error("synthetic scans need 1 to 65535 pixels a row and column, not " + std::to_string(g.size[0]) + "x" +
                    std::to_string(g.size[1]));
    return {g.size[0], g.size[1], g.size[2], g.origin[0], g.origin[1], g.origin[2],
            d[0] * g.spacing[0], d[4] * g.spacing[1], g.spacing[2], g.spacing[0]};
}

// Per-slice occupancy layers of the thin objects (0..255 = 0..1), combined by max so the drawing order never
// matters. finding_hu is only read where `finding` is non-zero, so it is never cleared.
struct Layers {
    std::vector<std::uint8_t> vessel, airway_wall, airway_lumen, bone, marrow, finding, label;
    std::vector<float> finding_hu;
    void reset(std::size_t n) {
        for (auto* v : {&vessel, &airway_wall, &airway_lumen, &bone, &marrow, &finding, &label}) v->assign(n, 0);
        finding_hu.resize(n);
    }
};

inline std::uint8_t to_byte(double occupancy) { return static_cast<std::uint8_t>(occupancy * 255 + 0.5); }
constexpr float kByte = 1.0f / 255;

// z sub-samples across the slice thickness: partial volume and the slice profile along z. Slices no thicker than
// 1.5 pixels need only the centre sample (the in-plane anti-aliasing width already spans them).
constexpr double kSubZ[3] = {-1.0 / 3, 0.0, 1.0 / 3};

template <class Dist>
void rasterize(const Grid& g, std::int64_t k, double slice_thickness, const Vec3& lo, const Vec3& hi, std::vector<std::uint8_t>& layer,
               Dist&& distance) {
    const bool thick = slice_thickness > 1.5 * g.px;
    std::int64_t i0, i1, j0, j1;
    Grid::span(lo[0], hi[0], g.ox, g.dx, g.nx, i0, i1);
    Grid::span(lo[1], hi[1], g.oy, g.dy, g.ny, j0, j1);
    const double z = g.z(k);
    for (std::int64_t j = j0; j <= j1; ++j) {
        const double y = g.y(j);
        std::uint8_t* row = layer.data() + j * g.nx;
        for (std::int64_t i = i0; i <= i1; ++i) {
            const double x = g.x(i);
            double occ;
            if (thick) {
                occ = 0;
                for (double s : kSubZ) occ += coverage(distance(Vec3{x, y, z + s * slice_thickness}), g.px);
                occ /= 3;
            } else {
                occ = coverage(distance(Vec3{x, y, z}), g.px);
            }
            row[i] = std::max(row[i], to_byte(occ));
        }
    }
}

// In-plane box of the part of capsule c within the slab [z0, z1] (grown by the radius): oblique vessels cross a
// slice over a short stretch, so this is much smaller than the whole capsule's box.
bool capsule_slab_box(const Capsule& c, double z0, double z1, double grow, Vec3& lo, Vec3& hi) {
    const double r = std::max(c.r0, c.r1) + grow;
    double t0 = 0, t1 = 1;
    const double dz = c.p1[2] - c.p0[2];
    if (std::fabs(dz) > 1e-9) {
        double ta = (z0 - r - c.p0[2]) / dz, tb = (z1 + r - c.p0[2]) / dz;
        if (ta > tb) std::swap(ta, tb);
        t0 = std::max(0.0, ta);
        t1 = std::min(1.0, tb);
        if (t0 > t1) return false;
    }
    for (int a = 0; a < 3; ++a) {
        const double pa = c.p0[a] + t0 * (c.p1[a] - c.p0[a]), pb = c.p0[a] + t1 * (c.p1[a] - c.p0[a]);
        lo[a] = std::min(pa, pb) - r;
        hi[a] = std::max(pa, pb) + r;
    }
    return true;
}

void capsule_box(const Capsule& c, double grow, Vec3& lo, Vec3& hi) {
    const double r = std::max(c.r0, c.r1) + grow;
    for (int a = 0; a < 3; ++a) {
        lo[a] = std::min(c.p0[a], c.p1[a]) - r;
        hi[a] = std::max(c.p0[a], c.p1[a]) + r;
    }
}

struct Buckets {
    std::vector<std::vector<int>> vessels, ribs, airways, findings;
};

template <class Box>
void bucket(const Grid& g, double margin, std::size_t count, Box&& box, std::vector<std::vector<int>>& out) {
    out.assign(static_cast<std::size_t>(g.nz), {});
    for (std::size_t n = 0; n < count; ++n) {
        Vec3 lo, hi;
        box(n, lo, hi);
        const SliceRange r = g.slices(lo[2] - margin, hi[2] + margin);
        for (std::int64_t k = r.first; k <= r.last; ++k) out[static_cast<std::size_t>(k)].push_back(static_cast<int>(n));
    }
}

// Lung texture: a coarse lattice of random values (5 mm), trilinearly interpolated.
struct Texture {
    double x0, y0, z0, step = 5;
    std::int64_t nx, ny, nz;
    std::vector<float> v;
    Texture(const Grid& g, Rng rng) {
        const double xa = std::min(g.x(0), g.x(g.nx - 1)), ya = std::min(g.y(0), g.y(g.ny - 1));
        x0 = xa - step;
        y0 = ya - step;
        z0 = g.z(0) - step;
        nx = static_cast<std::int64_t>(g.px * static_cast<double>(g.nx) / step) + 4;
        ny = static_cast<std::int64_t>(g.px * static_cast<double>(g.ny) / step) + 4;
        nz = static_cast<std::int64_t>(g.sz * static_cast<double>(g.nz) / step) + 4;
        v.resize(static_cast<std::size_t>(nx * ny * nz));
        for (auto& x : v) x = static_cast<float>(rng.uniform(-1, 1));
    }
    // The lattice plane at z, bilinearly sampled later (one z interpolation per slice).
    std::vector<float> plane(double z) const {
        const double fz = std::clamp((z - z0) / step, 0.0, static_cast<double>(nz - 2));
        const auto kz = static_cast<std::int64_t>(fz);
        const auto t = static_cast<float>(fz - static_cast<double>(kz));
        std::vector<float> p(static_cast<std::size_t>(nx * ny));
        for (std::int64_t n = 0; n < nx * ny; ++n)
            p[static_cast<std::size_t>(n)] = (1 - t) * v[static_cast<std::size_t>(kz * nx * ny + n)] + t * v[static_cast<std::size_t>((kz + 1) * nx * ny + n)];
        return p;
    }
    float sample(const std::vector<float>& p, double x, double y) const {
        const double fx = std::clamp((x - x0) / step, 0.0, static_cast<double>(nx - 2));
        const double fy = std::clamp((y - y0) / step, 0.0, static_cast<double>(ny - 2));
        const auto ix = static_cast<std::int64_t>(fx), iy = static_cast<std::int64_t>(fy);
        const auto tx = static_cast<float>(fx - static_cast<double>(ix)), ty = static_cast<float>(fy - static_cast<double>(iy));
        const float* r0 = p.data() + iy * nx + ix;
        const float* r1 = r0 + nx;
        return (1 - ty) * ((1 - tx) * r0[0] + tx * r0[1]) + ty * ((1 - tx) * r1[0] + tx * r1[1]);
    }
};

inline float mixf(float a, float b, float t) { return a + (b - a) * t; }

struct SliceContext {
    const ScanSpec& spec;
    const Grid& g;
    const Buckets& buckets;
    const Texture& texture;
    const std::vector<int>& finding_label;  // label per finding (0 = none)
};

void draw_objects(const SliceContext& c, std::int64_t k, Layers& L) {
    const ScanSpec& s = c.spec;
    const double th = s.slice_thickness;
    const auto K = static_cast<std::size_t>(k);
    Vec3 lo, hi;
    const double z0 = c.g.z(k) + kSubZ[0] * th, z1 = c.g.z(k) + kSubZ[2] * th;
    for (int n : c.buckets.vessels[K]) {
        const Capsule& cap = s.vessels.segments[static_cast<std::size_t>(n)];
        if (!capsule_slab_box(cap, z0, z1, c.g.px, lo, hi)) continue;
        rasterize(c.g, k, th, lo, hi, L.vessel, [&](const Vec3& w) { return capsule_distance(cap, w); });
    }
    for (int n : c.buckets.airways[K]) {
        const Capsule& cap = s.airways[static_cast<std::size_t>(n)];
        Capsule wall = cap;
        wall.r0 += 2;
        wall.r1 += 2;
        if (!capsule_slab_box(wall, z0, z1, c.g.px, lo, hi)) continue;
        rasterize(c.g, k, th, lo, hi, L.airway_wall, [&](const Vec3& w) { return capsule_distance(wall, w); });
        rasterize(c.g, k, th, lo, hi, L.airway_lumen, [&](const Vec3& w) { return capsule_distance(cap, w); });
    }
    for (int n : c.buckets.ribs[K]) {
        const Capsule& cap = s.ribs[static_cast<std::size_t>(n)];
        Capsule inner = cap;
        inner.r0 = std::max(0.5, cap.r0 - 1.5);
        inner.r1 = std::max(0.5, cap.r1 - 1.5);
        if (!capsule_slab_box(cap, z0, z1, c.g.px, lo, hi)) continue;
        rasterize(c.g, k, th, lo, hi, L.bone, [&](const Vec3& w) { return capsule_distance(cap, w); });
        rasterize(c.g, k, th, lo, hi, L.marrow, [&](const Vec3& w) { return capsule_distance(inner, w); });
    }
    // Findings: occupancy, their own HU (part-solid cores included) and the label of voxel centres inside.
    const double z = c.g.z(k);
    for (int n : c.buckets.findings[K]) {
        const Finding& f = s.findings[static_cast<std::size_t>(n)];
        const double r = f.bounding_radius() + c.g.px;
        std::int64_t i0, i1, j0, j1;
        Grid::span(f.centre[0] - r, f.centre[0] + r, c.g.ox, c.g.dx, c.g.nx, i0, i1);
        Grid::span(f.centre[1] - r, f.centre[1] + r, c.g.oy, c.g.dy, c.g.ny, j0, j1);
        const auto label = static_cast<std::uint8_t>(c.finding_label[static_cast<std::size_t>(n)]);
        const double core_r = f.core_fraction * f.diameter / 2;
        for (std::int64_t j = j0; j <= j1; ++j)
            for (std::int64_t i = i0; i <= i1; ++i) {
                const Vec3 w{c.g.x(i), c.g.y(j), z};
                double occ = 0, core = 0, centre_d = 0;
                for (double sub : kSubZ) {
                    const Vec3 ws{w[0], w[1], z + sub * th};
                    const double d = finding_distance(f, ws);
                    if (sub == 0) centre_d = d;
                    occ += coverage(d, c.g.px);
                    if (core_r > 0)
                        core += coverage(std::hypot(ws[0] - f.centre[0], ws[1] - f.centre[1], ws[2] - f.centre[2]) - core_r, c.g.px);
                }
                occ /= 3;
                core /= 3;
                const auto idx = static_cast<std::size_t>(j * c.g.nx + i);
                const std::uint8_t b = to_byte(occ);
                if (b > L.finding[idx]) {
                    L.finding[idx] = b;
                    L.finding_hu[idx] = static_cast<float>(core_r > 0 ? f.hu + (f.core_hu - f.hu) * core : f.hu);
                }
                if (label && centre_d < 0) L.label[idx] = label;
            }
    }
}

void render_slice(const SliceContext& c, std::int64_t k, Layers& L, float* hu, std::uint8_t* lungs, std::uint8_t* labels) {
    const Grid& g = c.g;
    const Anatomy& a = c.spec.anatomy;
    const std::size_t n = g.plane();
    L.reset(n);
    draw_objects(c, k, L);
    const double z = g.z(k);
    const LungSlice ls = lung_slice(a, z);
    const std::vector<float> tex = c.texture.plane(z);
    const double px = g.px;
    const bool in_disc = std::fmod(std::fabs(z - a.z_lo + a.disc_phase), a.disc_period) < 6;
    const double inner_a = a.ax - a.fat, inner_b = a.ay - a.fat;
    // Heart cross-section at this z.
    const double hz = (z - a.heart[2]) / (a.heart_r[2] + a.pericardial_fat);
    const double hk = std::fabs(hz) < 1 ? std::sqrt(1 - hz * hz) : 0;
    const double hzi = (z - a.heart[2]) / a.heart_r[2];
    const double hki = std::fabs(hzi) < 1 ? std::sqrt(1 - hzi * hzi) : 0;
    const Ellipse body_e(a.cx, a.cy, a.ax, a.ay), inner_e(a.cx, a.cy, inner_a, inner_b);
    const Ellipse heart_fat_e(a.heart[0], a.heart[1], (a.heart_r[0] + a.pericardial_fat) * hk, (a.heart_r[1] + a.pericardial_fat) * hk);
    const Ellipse heart_e(a.heart[0], a.heart[1], a.heart_r[0] * hki, a.heart_r[1] * hki);
    const Ellipse posterior_e(a.spine_x, a.spine_y + a.spine_r + 14, 14, 9);

    for (std::int64_t j = 0; j < g.ny; ++j) {
        const double y = g.y(j);
        for (std::int64_t i = 0; i < g.nx; ++i) {
            const double x = g.x(i);
            const std::size_t idx = static_cast<std::size_t>(j * g.nx + i);
            double v = a.air_hu;
            // CT couch: a curved plate under the patient.
            const double top = a.couch_y - (x - a.cx) * (x - a.cx) / (2 * a.couch_curvature);
            const double couch_d = std::max({top - y, y - top - a.couch_thickness, std::fabs(x - a.cx) - a.couch_half_width});
            v += (a.couch_hu - v) * coverage(couch_d, px);
            double lung_occ = 0;
            const double body = coverage(body_e.distance(x, y), px);
            if (body > 0) {
                v += (a.fat_hu - v) * body;
                const double inner = coverage(inner_e.distance(x, y), px);
                if (inner > 0) {
                    v += (a.muscle_hu - v) * inner;
                    if (hk > 0 && std::fabs(x - a.heart[0]) < a.heart_r[0] + 10 && std::fabs(y - a.heart[1]) < a.heart_r[1] + 10) {
                        v += (a.fat_hu - v) * coverage(heart_fat_e.distance(x, y), px);
                        if (hki > 0) v += (a.heart_hu - v) * coverage(heart_e.distance(x, y), px);
                    }
                    if (z <= a.aorta_top && std::fabs(x - a.aorta_x) < a.aorta_r + 5 && std::fabs(y - a.aorta_y) < a.aorta_r + 5)
                        v += (a.blood_hu - v) * coverage(std::hypot(x - a.aorta_x, y - a.aorta_y) - a.aorta_r, px);
                    // Spine: vertebral body (discs between), posterior elements, spinal canal.
                    const bool near_spine = std::fabs(x - a.spine_x) < 30 && y > a.spine_y - a.spine_r - 5 && y < a.spine_y + a.spine_r + 30;
                    const double vb = near_spine ? coverage(std::hypot(x - a.spine_x, y - a.spine_y) - a.spine_r, px) : 0.0;
                    if (vb > 0) {
                        const double cortex = in_disc ? a.disc_hu : a.cortical_hu;
                        v += (cortex - v) * vb;
                        v += ((in_disc ? a.disc_hu : a.vertebra_hu) - v) * coverage(std::hypot(x - a.spine_x, y - a.spine_y) - (a.spine_r - 2), px);
                    }
                    if (near_spine) {
                        v += (a.cortical_hu * 0.7 - v) * coverage(posterior_e.distance(x, y), px);
                        v += (a.muscle_hu - 10 - v) * coverage(std::hypot(x - a.spine_x, y - a.spine_y - a.spine_r - 8) - 6.5, px);
                    }
                    // Lungs: parenchyma with a coarse texture and a gravity gradient (posterior denser).
                    if (ls.present) {
                        // Only the lung on this side of the midline can reach the pixel (the mediastinum parts them).
                        lung_occ = coverage(lung_distance(a, ls, x < a.cx ? 0 : 1, x, y), px);
                        if (lung_occ > 0) {
                            const double dependent = std::clamp((y - (a.cy - inner_b)) / (2 * inner_b), 0.0, 1.0);
                            const double lung_v = a.lung_hu + 22 * c.texture.sample(tex, x, y) + a.lung_gradient_hu * (dependent - 0.5);
                            v += (lung_v - v) * lung_occ;
                        }
                    }
                }
            }
            // Thin structures and findings on top.
            if (L.vessel[idx]) v += (a.vessel_hu - v) * (L.vessel[idx] * kByte);
            if (L.airway_wall[idx]) {
                v += (a.muscle_hu - v) * (L.airway_wall[idx] * kByte);
                v += (a.air_hu - v) * (L.airway_lumen[idx] * kByte);
            }
            if (L.bone[idx]) {
                v += (a.cortical_hu - v) * (L.bone[idx] * kByte);
                v += (a.marrow_hu - v) * (L.marrow[idx] * kByte);
            }
            if (L.finding[idx]) v += (L.finding_hu[idx] - v) * (L.finding[idx] * kByte);
            hu[idx] = static_cast<float>(v);
            labels[idx] = L.label[idx];
            lungs[idx] = ((lung_occ >= 0.5 || L.label[idx]) && L.airway_lumen[idx] < 128) ? 1 : 0;
        }
    }
}

// Slice profile: Gaussian along z with FWHM = slice thickness, three taps, in place.
void blur_z(std::vector<float>& hu, const Grid& g, double thickness, int threads) {
    const double sigma = thickness / 2.3548 / g.sz;
    const float w1 = static_cast<float>(std::exp(-1.0 / (2 * sigma * sigma)));
    const float w0 = 1.0f / (1 + 2 * w1);
    const float ws = w1 * w0;
    const auto nx = static_cast<std::size_t>(g.nx), plane = g.plane();
    parallel_for(g.ny, threads, [&](std::int64_t j) {
        std::vector<float> prev(nx), cur(nx);
        float* base = hu.data() + static_cast<std::size_t>(j) * nx;
        std::copy(base, base + nx, prev.begin());
        for (std::int64_t k = 0; k < g.nz; ++k) {
            float* row = base + static_cast<std::size_t>(k) * plane;
            std::copy(row, row + nx, cur.begin());
            const float* next = k + 1 < g.nz ? row + plane : row;
            for (std::size_t i = 0; i < nx; ++i) row[i] = w0 * cur[i] + ws * (prev[i] + next[i]);
            std::swap(prev, cur);
        }
    });
}

// Each object kind in the slices it can touch (its box grown by `margin`), so a slice tests only nearby objects.
Buckets bucket_objects(const ScanSpec& spec, const Grid& g, double margin) {
    Buckets b;
    bucket(g, margin, spec.vessels.segments.size(), [&](std::size_t n, Vec3& lo, Vec3& hi) { capsule_box(spec.vessels.segments[n], 0, lo, hi); }, b.vessels);
    bucket(g, margin, spec.ribs.size(), [&](std::size_t n, Vec3& lo, Vec3& hi) { capsule_box(spec.ribs[n], 0, lo, hi); }, b.ribs);
    bucket(g, margin, spec.airways.size(), [&](std::size_t n, Vec3& lo, Vec3& hi) { capsule_box(spec.airways[n], 2, lo, hi); }, b.airways);
    bucket(g, margin, spec.findings.size(), [&](std::size_t n, Vec3& lo, Vec3& hi) {
        const Finding& f = spec.findings[n];
        const double r = f.bounding_radius();
        lo = {f.centre[0] - r, f.centre[1] - r, f.centre[2] - r};
        hi = {f.centre[0] + r, f.centre[1] + r, f.centre[2] + r};
    }, b.findings);
    return b;
}

// Noise (white + low-frequency) inside the reconstruction circle, scanner padding outside, rounded to int16.
// Drawn in canonical (unflipped) voxel order so flipped and unflipped twins get the same noise in world space.
void add_noise_and_quantise(const ScanSpec& spec, const Grid& g, const std::vector<float>& hu, Volume<std::int16_t>& scan, int threads) {
    const std::size_t plane = g.plane();
    const double radius = 0.5 * static_cast<double>(std::min(g.nx, g.ny));
    const double ci = (static_cast<double>(g.nx) - 1) / 2, cj = (static_cast<double>(g.ny) - 1) / 2;
    const bool flip_x = g.dx < 0, flip_y = g.dy < 0;
    parallel_for(g.nz, threads, [&](std::int64_t k) {
        Rng rng = Rng::derive(spec.scan_seed, {7, static_cast<std::uint64_t>(k)});
        const std::int64_t step = 8, cnx = g.nx / step + 2, cny = g.ny / step + 2;
        std::vector<float> coarse(static_cast<std::size_t>(cnx * cny));
        for (auto& v : coarse) v = static_cast<float>(spec.correlated_sigma) * rng.fast_normal();
        const auto sigma = static_cast<float>(spec.noise_sigma);
        const std::size_t off = static_cast<std::size_t>(k) * plane;
        for (std::int64_t jc = 0; jc < g.ny; ++jc) {
            const std::int64_t j = flip_y ? g.ny - 1 - jc : jc;
            const double fy = static_cast<double>(jc) / step;
            const auto cy0 = static_cast<std::int64_t>(fy);
            const auto ty = static_cast<float>(fy - static_cast<double>(cy0));
            float pair[2] = {0, 0};
            for (std::int64_t ic = 0; ic < g.nx; ++ic) {
                const std::int64_t i = flip_x ? g.nx - 1 - ic : ic;
                if ((ic & 1) == 0) rng.fast_normal_pair(pair[0], pair[1]);
                const float white = pair[ic & 1];
                const std::size_t idx = off + static_cast<std::size_t>(j * g.nx + i);
                const double ri = static_cast<double>(ic) - ci, rj = static_cast<double>(jc) - cj;
                if (ri * ri + rj * rj > radius * radius) {
                    scan.voxels[idx] = static_cast<std::int16_t>(spec.padding_hu);
                    continue;
                }
                const double fx = static_cast<double>(ic) / step;
                const auto cx0 = static_cast<std::int64_t>(fx);
                const auto tx = static_cast<float>(fx - static_cast<double>(cx0));
                const float* c0 = coarse.data() + cy0 * cnx + cx0;
                const float low = mixf(mixf(c0[0], c0[1], tx), mixf(c0[cnx], c0[cnx + 1], tx), ty);
                const float v = std::clamp(hu[idx] + sigma * white + low, -32768.0f, 32767.0f);
                scan.voxels[idx] = static_cast<std::int16_t>(v < 0 ? v - 0.5f : v + 0.5f);  // round half away
            }
        }
    });
}

// Voxel count and index sums of each nodule label: per-slice partial sums (in parallel), added up in slice order
// so the result never depends on the threads.
struct LabelMoments {
    std::vector<double> sum;          // 3 per label: i, j, k
    std::vector<std::int64_t> count;  // per label
};

LabelMoments label_moments(const Volume<std::uint8_t>& nodules, const Grid& g, std::size_t labels, int threads) {
    const std::size_t nl = labels, plane = g.plane();
    std::vector<double> slice_sum(static_cast<std::size_t>(g.nz) * nl * 3, 0.0);
    std::vector<std::int64_t> slice_count(static_cast<std::size_t>(g.nz) * nl, 0);
    parallel_for(g.nz, threads, [&](std::int64_t k) {
        const std::uint8_t* lab = nodules.voxels.data() + static_cast<std::size_t>(k) * plane;
        double* ssum = slice_sum.data() + static_cast<std::size_t>(k) * nl * 3;
        std::int64_t* scount = slice_count.data() + static_cast<std::size_t>(k) * nl;
        for (std::int64_t j = 0; j < g.ny; ++j)
            for (std::int64_t i = 0; i < g.nx; ++i) {
                const std::uint8_t l = lab[j * g.nx + i];
                if (!l) continue;
                ++scount[l];
                ssum[3 * l] += static_cast<double>(i);
                ssum[3 * l + 1] += static_cast<double>(j);
                ssum[3 * l + 2] += static_cast<double>(k);
            }
    });
    LabelMoments m{std::vector<double>(nl * 3, 0.0), std::vector<std::int64_t>(nl, 0)};
    for (std::size_t k = 0; k < static_cast<std::size_t>(g.nz); ++k)
        for (std::size_t l = 0; l < nl; ++l) {
            m.count[l] += slice_count[k * nl + l];
            for (std::size_t a = 0; a < 3; ++a) m.sum[3 * l + a] += slice_sum[(k * nl + l) * 3 + a];
        }
    return m;
}

// Annotations from the labels: centre of mass and equivalent diameter of each nodule as rendered; findings that are
// not nodules, or rendered under 3 mm, become excluded findings (as LUNA16 lists them). Labels are renumbered to
// the annotations kept.
void annotate_findings(const ScanSpec& spec, const Grid& g, const std::vector<int>& finding_label, std::size_t labels, LabelMoments m, RenderedScan& out) {
    const Geometry& geo = spec.geometry;
    const IndexWorldTransform t(geo);
    std::vector<double>& sum = m.sum;
    std::vector<std::int64_t>& count = m.count;
    const double voxel_volume = geo.spacing[0] * geo.spacing[1] * geo.spacing[2];
    std::vector<std::uint8_t> relabel(labels + 1, 0);
    int kept = 0;
    for (std::size_t n = 0; n < spec.findings.size(); ++n) {
        const Finding& f = spec.findings[n];
        RenderedFinding r;
        r.finding = static_cast<int>(n);
        if (!f.annotated()) {
            r.world = f.centre;
            r.diameter = f.kind == FindingKind::NonNodule ? -1 : f.diameter;
            out.excluded.push_back(r);
            continue;
        }
        const int l = finding_label[n];
        if (count[static_cast<std::size_t>(l)] == 0) {
            // Smaller than a voxel at this resolution: label the voxel holding its centre.
            const Vec3 idx = t.to_index(f.centre);
            const std::int64_t i = std::llround(idx[0]), j = std::llround(idx[1]), k = std::llround(idx[2]);
            if (i >= 0 && j >= 0 && k >= 0 && i < g.nx && j < g.ny && k < g.nz && out.nodules.at(i, j, k) == 0) {
                out.nodules.at(i, j, k) = static_cast<std::uint8_t>(l);
                out.lungs.at(i, j, k) = 1;
                count[static_cast<std::size_t>(l)] = 1;
                sum[3 * static_cast<std::size_t>(l)] = static_cast<double>(i);
                sum[3 * static_cast<std::size_t>(l) + 1] = static_cast<double>(j);
                sum[3 * static_cast<std::size_t>(l) + 2] = static_cast<double>(k);
            }
        }
        const auto c = static_cast<double>(count[static_cast<std::size_t>(l)]);
        r.voxels = count[static_cast<std::size_t>(l)];
        r.diameter = equivalent_diameter_mm(c, voxel_volume);
        if (c == 0 || r.diameter < 3.0) {
            // Rendered under 3 mm: LUNA16 would list it as an excluded finding.
            r.world = f.centre;
            r.diameter = c == 0 ? f.diameter : r.diameter;
            out.excluded.push_back(r);
            continue;
        }
        const std::size_t L = static_cast<std::size_t>(l);
        r.world = t.to_world({sum[3 * L] / c, sum[3 * L + 1] / c, sum[3 * L + 2] / c});
        r.label = ++kept;
        relabel[L] = static_cast<std::uint8_t>(kept);
        out.annotations.push_back(r);
    }
    if (static_cast<std::size_t>(kept) != labels)
        for (auto& v : out.nodules.voxels) v = relabel[v];
}

}  // namespace

RenderedScan render_scan(const ScanSpec& spec, int threads) {
    const Geometry& geo = spec.geometry;
    validate(geo, spec.uid.c_str());
    const Grid g = make_grid(geo);
    const Buckets b = bucket_objects(spec, g, spec.slice_thickness / 3 + g.sz);
    std::vector<int> finding_label(spec.findings.size(), 0);
    std::size_t labels = 0;  // the nodule labels used, 1..labels
    for (std::size_t n = 0; n < spec.findings.size(); ++n)
        if (spec.findings[n].annotated()) finding_label[n] = static_cast<int>(++labels);

    const Texture texture(g, Rng::derive(spec.scan_seed, {6}));
    const SliceContext ctx{spec, g, b, texture, finding_label};
    RenderedScan out;
    out.lungs = Volume<std::uint8_t>(geo, 0);
    out.nodules = Volume<std::uint8_t>(geo, 0);
    std::vector<float> hu(static_cast<std::size_t>(geo.voxel_count()));
    const std::size_t plane = g.plane();
    parallel_for(g.nz, threads, [&](std::int64_t k) {
        thread_local Layers layers;
        const std::size_t off = static_cast<std::size_t>(k) * plane;
        render_slice(ctx, k, layers, hu.data() + off, out.lungs.voxels.data() + off, out.nodules.voxels.data() + off);
    });
    blur_z(hu, g, spec.slice_thickness, threads);
    out.scan = Volume<std::int16_t>(geo, 0);
    add_noise_and_quantise(spec, g, hu, out.scan, threads);
    annotate_findings(spec, g, finding_label, labels, label_moments(out.nodules, g, labels + 1, threads), out);
    return out;
}

}  // namespace nodulecad
