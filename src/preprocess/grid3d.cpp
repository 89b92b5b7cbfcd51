#include "nodulecad/preprocess/grid3d.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/nonzero_box.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/core/trilinear.hpp"
#include "nodulecad/preprocess/resample.hpp"

namespace nodulecad {

void Grid3dOptions::check() const {
    if (!(spacing_mm >= 0.25 && spacing_mm <= 8)) throw OptionError("grid-mm", "must be between 0.25 and 8 mm, got " + std::to_string(spacing_mm));
    if (!(margin_mm >= 0 && margin_mm <= 100)) throw OptionError("grid-margin", "must be between 0 and 100 mm, got " + std::to_string(margin_mm));
    if (!(window_hi > window_lo)) throw OptionError("window", "needs lo < hi");
}

void to_json(nlohmann::json& j, const Grid3dOptions& o) {
    j = {{"spacing_mm", o.spacing_mm}, {"sampling", enum_name(o.sampling, kGridSamplingNames)}, {"margin_mm", o.margin_mm},
         {"window", {o.window_lo, o.window_hi}}};
}

void from_json(const nlohmann::json& j, Grid3dOptions& o) {
    o.spacing_mm = j.value("spacing_mm", o.spacing_mm);
    // Missing: a card written before sampling was chosen, which sampled at the centre.
    o.sampling = parse_enum("sampling", j.value("sampling", std::string("centre")), kGridSamplingNames);
    o.margin_mm = j.value("margin_mm", o.margin_mm);
    if (j.contains("window")) {
        o.window_lo = j.at("window").at(0).get<double>();
        o.window_hi = j.at("window").at(1).get<double>();
    }
}

namespace {

// The lung voxels' index box on the scan's grid, [lo, hi] per axis; the whole scan when there are none.
void lung_index_box(const Volume<std::uint8_t>& lungs, std::array<std::int64_t, 3>& lo, std::array<std::int64_t, 3>& hi, int threads) {
    const auto& n = lungs.geometry.size;
    const IndexBox box = nonzero_box(lungs, threads);
    if (box.empty()) {
        lo = {0, 0, 0};
        hi = {n[0] - 1, n[1] - 1, n[2] - 1};
        return;
    }
    lo = box.lo;
    hi = {box.hi[0] - 1, box.hi[1] - 1, box.hi[2] - 1};
}

}  // namespace

Volume<std::uint8_t> lung_box_on_grid(const Volume<std::int16_t>& scan, const Volume<std::uint8_t>& lungs, const Grid3dOptions& o, int threads) {
    o.check();
    if (!same_grid(scan.geometry, lungs.geometry)) throw Error("the lung mask is not on the scan's grid");
    std::array<std::int64_t, 3> lo{}, hi{};
    lung_index_box(lungs, lo, hi, threads);
    const Vec3 spacing{o.spacing_mm, o.spacing_mm, o.spacing_mm};
    const Geometry full = resampled_geometry(scan.geometry, spacing);
    // The box in the grid's indices (same origin and direction: scan index i is grid index i * s / spacing).
    std::array<std::int64_t, 3> first{}, count{};
    for (int a = 0; a < 3; ++a) {
        const double s = scan.geometry.spacing[a] / o.spacing_mm, m = o.margin_mm / o.spacing_mm;
        const auto b0 = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(static_cast<double>(lo[a]) * s - m)));
        const auto b1 = std::min<std::int64_t>(full.size[a] - 1, static_cast<std::int64_t>(std::ceil(static_cast<double>(hi[a]) * s + m)));
        first[a] = b0;
        count[a] = std::max<std::int64_t>(1, b1 - b0 + 1);
    }
    Geometry g = full;
    g.size = {count[0], count[1], count[2]};
    g.origin = index_to_world(full, Vec3{static_cast<double>(first[0]), static_cast<double>(first[1]), static_cast<double>(first[2])});
    Volume<std::uint8_t> out(g, 0);
    const Vec3 step{o.spacing_mm / scan.geometry.spacing[0], o.spacing_mm / scan.geometry.spacing[1], o.spacing_mm / scan.geometry.spacing[2]};
    const double scale = 255.0 / (o.window_hi - o.window_lo);
    // Sample offsets inside a cell, per axis, in scan voxels from the cell's centre.
    std::array<std::vector<double>, 3> offsets;
    for (int a = 0; a < 3; ++a) {
        const int n = o.sampling == GridSampling::CellMean ? std::max(1, static_cast<int>(std::ceil(step[a] - 1e-9))) : 1;
        for (int s = 0; s < n; ++s) offsets[static_cast<std::size_t>(a)].push_back(((s + 0.5) / n - 0.5) * step[a]);
    }
    const double samples = static_cast<double>(offsets[0].size() * offsets[1].size() * offsets[2].size());
    parallel_for(count[2], threads, [&](std::int64_t k) {
        for (std::int64_t j = 0; j < count[1]; ++j)
            for (std::int64_t i = 0; i < count[0]; ++i) {
                const Vec3 at{static_cast<double>(first[0] + i) * step[0], static_cast<double>(first[1] + j) * step[1],
                              static_cast<double>(first[2] + k) * step[2]};
                double sum = 0;
                for (const double dz : offsets[2])
                    for (const double dy : offsets[1])
                        for (const double dx : offsets[0]) sum += trilinear(scan, Vec3{at[0] + dx, at[1] + dy, at[2] + dz}, -1000.0);
                const double hu = std::clamp(sum / samples, o.window_lo, o.window_hi);
                out.voxels[out.offset(i, j, k)] = static_cast<std::uint8_t>(std::lround((hu - o.window_lo) * scale));
            }
    });
    return out;
}

Volume<std::uint8_t> lungs_on_grid(const Volume<std::uint8_t>& lungs, const Geometry& box, int threads) {
    Volume<std::uint8_t> out(box, 0);
    const auto& n = box.size;
    parallel_for(n[2], threads, [&](std::int64_t k) {
        for (std::int64_t j = 0; j < n[1]; ++j)
            for (std::int64_t i = 0; i < n[0]; ++i) {
                const Vec3 world = index_to_world(box, Vec3{static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)});
                const double v = trilinear(lungs, world_to_index(lungs.geometry, world), 0.0);
                out.voxels[out.offset(i, j, k)] = static_cast<std::uint8_t>(std::lround(255.0 * std::clamp(v, 0.0, 1.0)));
            }
    });
    return out;
}

}  // namespace nodulecad
