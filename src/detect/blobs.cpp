#include "nodulecad/detect/blobs.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <nlohmann/json.hpp>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/math.hpp"
#include "nodulecad/core/nonzero_box.hpp"
#include "nodulecad/core/threads.hpp"

namespace nodulecad {

namespace {


// Normalised sampled Gaussian of `sigma` voxels, truncated at 3 sigma (at least one tap either side).
std::vector<float> gaussian_kernel(double sigma) {
    const int radius = std::max(1, static_cast<int>(std::ceil(3 * sigma)));
    std::vector<float> k(static_cast<std::size_t>(2 * radius + 1));
    double sum = 0;
    for (int t = -radius; t <= radius; ++t) sum += std::exp(-0.5 * t * t / (sigma * sigma));
    for (int t = -radius; t <= radius; ++t) k[static_cast<std::size_t>(t + radius)] = static_cast<float>(std::exp(-0.5 * t * t / (sigma * sigma)) / sum);
    return k;
}

// A box of the scan: [lo, hi) per axis, stored x fastest.
struct Box {
    std::array<std::int64_t, 3> lo{}, hi{};
    std::int64_t n(int a) const { return hi[static_cast<std::size_t>(a)] - lo[static_cast<std::size_t>(a)]; }
    std::size_t at(std::int64_t i, std::int64_t j, std::int64_t k) const {
        return static_cast<std::size_t>((i - lo[0]) + n(0) * ((j - lo[1]) + n(1) * (k - lo[2])));
    }
};

// Smooths `f` (the box's voxels) along `axis` in place; edges repeat the last voxel. Each output is the same sum
// over the kernel's taps in the same order on every axis; the loops run over whole rows of x so the compiler can
// vectorise them (a tap-by-tap loop with clamped indices along a strided line was 45 % of detect on a 512x512x494
// scan).
void smooth_axis(std::vector<float>& f, const Box& b, int axis, const std::vector<float>& kernel, int threads) {
    const std::int64_t nx = b.n(0), ny = b.n(1), nz = b.n(2);
    const int radius = static_cast<int>(kernel.size() / 2);
    if (axis == 0) {
        // Rows along x: each copied with `radius` repeated edge voxels either side, then summed tap by tap.
        const std::int64_t rows = ny * nz, chunks = std::min<std::int64_t>(rows, 64);
        parallel_for(chunks, threads, [&](std::int64_t c) {
            std::vector<float> padded(static_cast<std::size_t>(nx + 2 * radius)), acc(static_cast<std::size_t>(nx));
            for (std::int64_t row = rows * c / chunks; row < rows * (c + 1) / chunks; ++row) {
                float* line = f.data() + row * nx;
                for (std::int64_t t = -radius; t < nx + radius; ++t) padded[static_cast<std::size_t>(t + radius)] = line[std::clamp<std::int64_t>(t, 0, nx - 1)];
                std::fill(acc.begin(), acc.end(), 0.0f);
                for (int u = 0; u <= 2 * radius; ++u) {
                    const float w = kernel[static_cast<std::size_t>(u)];
                    const float* in = padded.data() + u;
                    for (std::int64_t t = 0; t < nx; ++t) acc[static_cast<std::size_t>(t)] += w * in[t];
                }
                std::copy(acc.begin(), acc.end(), line);
            }
        });
        return;
    }
    // Along y or z: a slab of `len` rows of x (a plane k for y; a fixed j for z), copied out, then each output row
    // the weighted sum of its neighbouring rows.
    const std::int64_t len = axis == 1 ? ny : nz;
    const std::int64_t slabs = axis == 1 ? nz : ny;
    const std::int64_t row_stride = axis == 1 ? nx : nx * ny;
    const std::int64_t slab_stride = axis == 1 ? nx * ny : nx;
    parallel_for(slabs, threads, [&](std::int64_t s) {
        std::vector<float> copy(static_cast<std::size_t>(len * nx));
        for (std::int64_t t = 0; t < len; ++t) {
            const float* row = f.data() + s * slab_stride + t * row_stride;
            std::copy(row, row + nx, copy.begin() + t * nx);
        }
        for (std::int64_t t = 0; t < len; ++t) {
            float* out = f.data() + s * slab_stride + t * row_stride;
            std::fill(out, out + nx, 0.0f);
            for (int u = -radius; u <= radius; ++u) {
                const float w = kernel[static_cast<std::size_t>(u + radius)];
                const float* in = copy.data() + std::clamp<std::int64_t>(t + u, 0, len - 1) * nx;
                for (std::int64_t i = 0; i < nx; ++i) out[i] += w * in[i];
            }
        }
    });
}

}  // namespace

void BlobOptions::check() const {
    if (sigmas_mm.empty()) fail("blobs", "no scales given");
    for (double s : sigmas_mm)
        if (!(s > 0) || s > 50) fail("blobs", "scale " + std::to_string(s) + " mm is not in (0, 50]");
    if (!(hu_hi > hu_lo)) fail("blobs", "HU clamp needs lo < hi");
    if (!(min_response >= 0)) fail("blobs", "minimum response must be >= 0");
    if (!(min_distance_mm >= 0)) fail("blobs", "minimum distance must be >= 0");
    if (max_per_scan < 0) fail("blobs", "max per scan must be >= 0");
}

void to_json(nlohmann::json& j, const BlobOptions& o) {
    j = {{"sigmas_mm", o.sigmas_mm},       {"hu_lo", o.hu_lo},         {"hu_hi", o.hu_hi},
         {"min_response", o.min_response}, {"min_distance_mm", o.min_distance_mm}, {"max_per_scan", o.max_per_scan}};
}

void from_json(const nlohmann::json& j, BlobOptions& o) {
    o.sigmas_mm = j.value("sigmas_mm", o.sigmas_mm);
    o.hu_lo = j.value("hu_lo", o.hu_lo);
    o.hu_hi = j.value("hu_hi", o.hu_hi);
    o.min_response = j.value("min_response", o.min_response);
    o.min_distance_mm = j.value("min_distance_mm", o.min_distance_mm);
    o.max_per_scan = j.value("max_per_scan", o.max_per_scan);
}

void symmetric_eigenvalues(double xx, double yy, double zz, double xy, double xz, double yz, double out[3]) {
    // Trigonometric solution of the characteristic cubic (real roots: the matrix is symmetric).
    const double p1 = xy * xy + xz * xz + yz * yz;
    const double q = (xx + yy + zz) / 3;
    const double p2 = (xx - q) * (xx - q) + (yy - q) * (yy - q) + (zz - q) * (zz - q) + 2 * p1;
    double e[3];
    if (p2 <= 1e-30 * (q * q + 1e-30)) {
        e[0] = e[1] = e[2] = q;
    } else {
        const double p = std::sqrt(p2 / 6);
        const double bxx = (xx - q) / p, byy = (yy - q) / p, bzz = (zz - q) / p, bxy = xy / p, bxz = xz / p, byz = yz / p;
        const double det = bxx * (byy * bzz - byz * byz) - bxy * (bxy * bzz - byz * bxz) + bxz * (bxy * byz - byy * bxz);
        const double r = std::clamp(det / 2, -1.0, 1.0);
        const double phi = std::acos(r) / 3;
        e[0] = q + 2 * p * std::cos(phi);
        e[2] = q + 2 * p * std::cos(phi + 2 * kPi / 3);
        e[1] = 3 * q - e[0] - e[2];
    }
    std::sort(e, e + 3, [](double a, double b) { return std::abs(a) > std::abs(b); });
    out[0] = e[0], out[1] = e[1], out[2] = e[2];
}

BlobResponse blob_response(const Volume<std::int16_t>& scan, const Volume<std::uint8_t>& region, const BlobOptions& o) {
    o.check();
    const Geometry& g = scan.geometry;
    if (region.geometry.size != g.size) fail("blobs", "the region mask does not have the scan's size");
    BlobResponse out;
    const std::array<double, 3> sp{g.spacing[0], g.spacing[1], g.spacing[2]};
    const double sigma_max = *std::max_element(o.sigmas_mm.begin(), o.sigmas_mm.end());

    // The region's bounding box, grown by the widest kernel so smoothing near its edge sees real voxels.
    const IndexBox region_box = nonzero_box(region, o.threads);
    if (region_box.empty()) return out;
    Box b;
    b.lo = region_box.lo;
    b.hi = region_box.hi;
    for (int a = 0; a < 3; ++a) {
        const auto m = static_cast<std::int64_t>(std::ceil(3 * sigma_max / sp[static_cast<std::size_t>(a)])) + 2;
        b.lo[static_cast<std::size_t>(a)] = std::max<std::int64_t>(0, b.lo[static_cast<std::size_t>(a)] - m);
        b.hi[static_cast<std::size_t>(a)] = std::min<std::int64_t>(g.size[static_cast<std::size_t>(a)], b.hi[static_cast<std::size_t>(a)] + m);
    }
    const std::int64_t nx = b.n(0), ny = b.n(1), nz = b.n(2);
    const std::size_t total = static_cast<std::size_t>(nx * ny * nz);
    // The outputs cover the box only (on a LUNA16-sized scan the lungs' box is well under half of it); their geometry
    // is the scan's, moved to the box's first voxel.
    Geometry box = g;
    box.size = {nx, ny, nz};
    box.origin = index_to_world(g, {static_cast<double>(b.lo[0]), static_cast<double>(b.lo[1]), static_cast<double>(b.lo[2])});
    out.response = Volume<float>(box, 0.0f);
    out.sigma_mm = Volume<float>(box, 0.0f);
    out.offset = b.lo;

    std::vector<float> f(total);
    for (double sigma : o.sigmas_mm) {
        parallel_for(nz, o.threads, [&](std::int64_t kk) {
            const std::int64_t k = b.lo[2] + kk;
            for (std::int64_t j = b.lo[1]; j < b.hi[1]; ++j)
                for (std::int64_t i = b.lo[0]; i < b.hi[0]; ++i)
                    f[b.at(i, j, k)] = static_cast<float>(std::clamp<double>(scan.at(i, j, k), o.hu_lo, o.hu_hi));
        });
        for (int a = 0; a < 3; ++a) smooth_axis(f, b, a, gaussian_kernel(sigma / sp[static_cast<std::size_t>(a)]), o.threads);
        const double s2 = sigma * sigma;
        parallel_for(nz - 2, o.threads, [&](std::int64_t kk) {
            const std::int64_t k = b.lo[2] + kk + 1;
            const std::int64_t dx = 1, dy = nx, dz = nx * ny;
            for (std::int64_t j = b.lo[1] + 1; j + 1 < b.hi[1]; ++j)
                for (std::int64_t i = b.lo[0] + 1; i + 1 < b.hi[0]; ++i) {
                    if (!region.at(i, j, k)) continue;
                    const std::size_t c = b.at(i, j, k);
                    const auto v = [&](std::int64_t d) { return static_cast<double>(f[static_cast<std::size_t>(static_cast<std::int64_t>(c) + d)]); };
                    const double f0 = v(0);
                    const double hxx = (v(dx) - 2 * f0 + v(-dx)) / (sp[0] * sp[0]);
                    const double hyy = (v(dy) - 2 * f0 + v(-dy)) / (sp[1] * sp[1]);
                    const double hzz = (v(dz) - 2 * f0 + v(-dz)) / (sp[2] * sp[2]);
                    const double hxy = (v(dx + dy) - v(dx - dy) - v(dy - dx) + v(-dx - dy)) / (4 * sp[0] * sp[1]);
                    const double hxz = (v(dx + dz) - v(dx - dz) - v(dz - dx) + v(-dx - dz)) / (4 * sp[0] * sp[2]);
                    const double hyz = (v(dy + dz) - v(dy - dz) - v(dz - dy) + v(-dy - dz)) / (4 * sp[1] * sp[2]);
                    // Quick rejection: a bright blob has a negative trace.
                    if (hxx + hyy + hzz >= 0) continue;
                    double e[3];
                    symmetric_eigenvalues(hxx, hyy, hzz, hxy, hxz, hyz, e);
                    if (e[0] >= 0 || e[1] >= 0 || e[2] >= 0) continue;
                    const auto r = static_cast<float>(s2 * -e[2]);
                    if (r > out.response.voxels[c]) {
                        out.response.voxels[c] = r;
                        out.sigma_mm.voxels[c] = static_cast<float>(sigma);
                    }
                }
        });
    }

    return out;
}

std::vector<DetectedCandidate> detect_blobs(const std::string& uid, const Volume<std::int16_t>& scan, const Volume<std::uint8_t>& region,
                                            const BlobOptions& o, const BlobCounts& counts) {
    const BlobResponse resp = blob_response(scan, region, o);
    if (resp.response.voxels.empty()) return {};
    const Volume<float>& R = resp.response;
    const std::vector<float>& best = R.voxels;
    const std::int64_t nx = R.geometry.size[0], ny = R.geometry.size[1], nz = R.geometry.size[2];
    const auto& off = resp.offset;
    // Local maxima of the response (26 neighbours) inside the region.
    struct Peak {
        std::int64_t i, j, k;  // in the response's box
        float r;
    };
    std::vector<std::vector<Peak>> per_slice(static_cast<std::size_t>(nz));
    parallel_for(nz - 2, o.threads, [&](std::int64_t kk) {
        const std::int64_t k = kk + 1;
        for (std::int64_t j = 1; j + 1 < ny; ++j)
            for (std::int64_t i = 1; i + 1 < nx; ++i) {
                const float r = best[R.offset(i, j, k)];
                if (!(r > o.min_response) || !region.at(i + off[0], j + off[1], k + off[2])) continue;
                bool peak = true;
                for (int c = -1; c <= 1 && peak; ++c)
                    for (int bb = -1; bb <= 1 && peak; ++bb)
                        for (int a = -1; a <= 1 && peak; ++a) {
                            if (a == 0 && bb == 0 && c == 0) continue;
                            const float q = best[R.offset(i + a, j + bb, k + c)];
                            // Ties go to the first voxel in memory order, so a plateau gives one peak.
                            const bool earlier = (c < 0) || (c == 0 && (bb < 0 || (bb == 0 && a < 0)));
                            if (q > r || (q == r && earlier)) peak = false;
                        }
                if (peak) per_slice[static_cast<std::size_t>(kk)].push_back({i, j, k, r});
            }
    });
    std::vector<Peak> peaks;
    for (auto& v : per_slice) peaks.insert(peaks.end(), v.begin(), v.end());
    std::stable_sort(peaks.begin(), peaks.end(), [](const Peak& x, const Peak& y) { return x.r > y.r; });

    const IndexWorldTransform t(R.geometry);
    std::vector<DetectedCandidate> out;
    int counted = 0;
    const double d2min = o.min_distance_mm * o.min_distance_mm;
    for (const Peak& p : peaks) {
        if (o.max_per_scan > 0 && counted >= o.max_per_scan) break;
        // Sub-voxel centre: a parabola through the response and its two neighbours along each axis.
        double idx[3] = {static_cast<double>(p.i), static_cast<double>(p.j), static_cast<double>(p.k)};
        const std::int64_t step[3] = {1, nx, nx * ny};
        const std::size_t c = R.offset(p.i, p.j, p.k);
        for (int a = 0; a < 3; ++a) {
            const double m = best[c - static_cast<std::size_t>(step[a])], q = best[c + static_cast<std::size_t>(step[a])];
            const double den = m - 2.0 * p.r + q;
            if (den < 0) idx[a] += std::clamp(0.5 * (m - q) / den, -0.5, 0.5);
        }
        const Vec3 w = t.to_world({idx[0], idx[1], idx[2]});
        bool near = false;
        for (const auto& d : out) {
            const double dx = d.candidate.world[0] - w[0], dy = d.candidate.world[1] - w[1], dz = d.candidate.world[2] - w[2];
            if (dx * dx + dy * dy + dz * dz < d2min) {
                near = true;
                break;
            }
        }
        if (near) continue;
        DetectedCandidate d;
        d.candidate.seriesuid = uid;
        d.candidate.world = w;
        d.candidate.probability = p.r / (p.r + 100.0);
        d.candidate.diameter_mm = 2 * std::sqrt(3.0) * resp.sigma_mm.voxels[c];
        d.voxels = 1;
        if (!counts || counts(w)) ++counted;
        out.push_back(d);
    }
    return out;
}

bool covered_by(const std::vector<DetectedCandidate>& candidates, std::size_t count, const Vec3& world, double min_distance_mm) {
    for (std::size_t n = 0; n < std::min(count, candidates.size()); ++n) {
        const Candidate& c = candidates[n].candidate;
        const double r = std::max(min_distance_mm, std::isnan(c.diameter_mm) ? 0.0 : c.diameter_mm / 2);
        const double dx = c.world[0] - world[0], dy = c.world[1] - world[1], dz = c.world[2] - world[2];
        if (dx * dx + dy * dy + dz * dz < r * r) return true;
    }
    return false;
}

void add_blob_candidates(std::vector<DetectedCandidate>& candidates, const std::vector<DetectedCandidate>& blobs,
                         ProbabilityView probability, double min_distance_mm) {
    const Geometry& g = probability.geometry();
    const IndexWorldTransform t(g);
    const std::size_t unet = candidates.size();
    for (const DetectedCandidate& b : blobs) {
        if (covered_by(candidates, unet, b.candidate.world, min_distance_mm)) continue;
        const Vec3 idx = t.to_index(b.candidate.world);
        float p = 0;
        for (int dk = -1; dk <= 1; ++dk)
            for (int dj = -1; dj <= 1; ++dj)
                for (int di = -1; di <= 1; ++di) {
                    const std::int64_t i = std::llround(idx[0]) + di, j = std::llround(idx[1]) + dj, k = std::llround(idx[2]) + dk;
                    if (i < 0 || j < 0 || k < 0 || i >= g.size[0] || j >= g.size[1] || k >= g.size[2]) continue;
                    p = std::max(p, probability.at(i, j, k));
                }
        DetectedCandidate d = b;
        d.candidate.probability = p;
        candidates.push_back(d);
    }
}

}  // namespace nodulecad
