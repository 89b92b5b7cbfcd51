#include "nodulecad/detect/heatmap_peaks.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/geometry.hpp"

namespace nodulecad {

namespace {

struct Peak {
    float value;
    std::int64_t i, j, k;
};

// Voxels above the threshold that no 26-neighbour exceeds (ties: the first in memory order wins).
std::vector<Peak> local_maxima(const Volume<float>& h, double threshold) {
    const auto& s = h.geometry.size;
    const auto at = [&](std::int64_t i, std::int64_t j, std::int64_t k) { return h.voxels[static_cast<std::size_t>((k * s[1] + j) * s[0] + i)]; };
    std::vector<Peak> out;
    for (std::int64_t k = 0; k < s[2]; ++k)
        for (std::int64_t j = 0; j < s[1]; ++j)
            for (std::int64_t i = 0; i < s[0]; ++i) {
                const float v = at(i, j, k);
                if (!(v >= threshold)) continue;
                bool peak = true;
                for (std::int64_t dk = -1; dk <= 1 && peak; ++dk)
                    for (std::int64_t dj = -1; dj <= 1 && peak; ++dj)
                        for (std::int64_t di = -1; di <= 1 && peak; ++di) {
                            const std::int64_t a = i + di, b = j + dj, c = k + dk;
                            if ((di == 0 && dj == 0 && dk == 0) || a < 0 || b < 0 || c < 0 || a >= s[0] || b >= s[1] || c >= s[2]) continue;
                            const float w = at(a, b, c);
                            const bool earlier = (dk < 0) || (dk == 0 && (dj < 0 || (dj == 0 && di < 0)));
                            if (w > v || (w == v && earlier)) peak = false;
                        }
                if (peak) out.push_back({v, i, j, k});
            }
    std::stable_sort(out.begin(), out.end(), [](const Peak& a, const Peak& b) { return a.value > b.value; });
    return out;
}

// The peak's position to a fraction of a voxel: per axis, the vertex of the parabola through the logarithms of the
// peak and its two neighbours — exact for a Gaussian bump, which is what the detector is trained to draw — or
// through the values themselves where a neighbour is 0 or outside; within half a voxel of the peak voxel.
double axis_offset(double before, double at, double after) {
    double a = before, b = at, c = after;
    if (a > 0 && b > 0 && c > 0) a = std::log(a), b = std::log(b), c = std::log(c);
    const double curvature = a - 2 * b + c;
    if (!(curvature < 0)) return 0;
    return std::clamp(0.5 * (a - c) / curvature, -0.5, 0.5);
}

Vec3 refined_index(const Volume<float>& h, const Peak& p) {
    const auto& s = h.geometry.size;
    const auto at = [&](std::int64_t i, std::int64_t j, std::int64_t k) -> double {
        if (i < 0 || j < 0 || k < 0 || i >= s[0] || j >= s[1] || k >= s[2]) return 0;
        return h.voxels[static_cast<std::size_t>((k * s[1] + j) * s[0] + i)];
    };
    const double v = p.value;
    return {static_cast<double>(p.i) + axis_offset(at(p.i - 1, p.j, p.k), v, at(p.i + 1, p.j, p.k)),
            static_cast<double>(p.j) + axis_offset(at(p.i, p.j - 1, p.k), v, at(p.i, p.j + 1, p.k)),
            static_cast<double>(p.k) + axis_offset(at(p.i, p.j, p.k - 1), v, at(p.i, p.j, p.k + 1))};
}

}  // namespace

void PeakOptions::check() const {
    if (!(threshold >= 0 && threshold < 1)) throw OptionError("peak-threshold", "must be in [0, 1), got " + std::to_string(threshold));
    if (!(min_distance_mm >= 0)) throw OptionError("peak-distance", "must be >= 0 mm, got " + std::to_string(min_distance_mm));
    require_non_negative("max_per_scan", max_per_scan);
    require_non_negative("detector3d_blobs", blobs_per_scan);
    if (!(component_threshold > 0 && component_threshold < 1))
        throw OptionError("component-threshold", "must be in (0, 1), got " + std::to_string(component_threshold));
}

void to_json(nlohmann::json& j, const PeakOptions& o) {
    j = {{"threshold", o.threshold}, {"min_distance_mm", o.min_distance_mm}, {"max_per_scan", o.max_per_scan}};
    // Written only when not the default, so that the stage keys and bundle cards of earlier runs stay what they were.
    if (o.component_threshold != PeakOptions{}.component_threshold) j["component_threshold"] = o.component_threshold;
    if (o.blobs_per_scan != PeakOptions{}.blobs_per_scan) j["blobs_per_scan"] = o.blobs_per_scan;
}

void from_json(const nlohmann::json& j, PeakOptions& o) {
    o.threshold = j.value("threshold", o.threshold);
    o.min_distance_mm = j.value("min_distance_mm", o.min_distance_mm);
    o.max_per_scan = j.value("max_per_scan", o.max_per_scan);
    o.component_threshold = j.value("component_threshold", o.component_threshold);
    o.blobs_per_scan = j.value("blobs_per_scan", o.blobs_per_scan);
    o.check();
}

std::vector<DetectedCandidate> heatmap_peaks(const std::string& uid, const Volume<float>& heatmap, const Volume<float>& diameter_mm,
                                             const PeakOptions& o) {
    const bool sized = !diameter_mm.voxels.empty();
    if (sized && diameter_mm.geometry.size != heatmap.geometry.size) throw Error("the size map is not on the heatmap's grid");
    const IndexWorldTransform t(heatmap.geometry);
    std::vector<DetectedCandidate> out;
    for (const Peak& p : local_maxima(heatmap, o.threshold)) {
        const Vec3 world = t.to_world(refined_index(heatmap, p));
        const bool near = std::any_of(out.begin(), out.end(), [&](const DetectedCandidate& d) {
            const Vec3& w = d.candidate.world;
            return std::hypot(w[0] - world[0], w[1] - world[1], w[2] - world[2]) < o.min_distance_mm;
        });
        if (near) continue;
        DetectedCandidate d;
        d.candidate.seriesuid = uid;
        d.candidate.world = world;
        d.candidate.probability = p.value;
        const std::size_t n = static_cast<std::size_t>((p.k * heatmap.geometry.size[1] + p.j) * heatmap.geometry.size[0] + p.i);
        d.candidate.diameter_mm = sized ? static_cast<double>(diameter_mm.voxels[n]) : std::numeric_limits<double>::quiet_NaN();
        d.voxels = 1;
        out.push_back(d);
        if (o.max_per_scan > 0 && static_cast<int>(out.size()) >= o.max_per_scan) break;
    }
    return out;
}

std::vector<DetectedCandidate> segmentation_components(const std::string& uid, const Volume<float>& probability, const PeakOptions& o) {
    DetectOptions d;
    d.score = CandidateScore::Peak;  // float maps, as measured (docs/model.md) and as every bundle of this head ranked
    d.threshold = o.component_threshold;
    d.max_per_scan = o.max_per_scan;
    return detect_candidates(uid, probability, d);
}

}  // namespace nodulecad
