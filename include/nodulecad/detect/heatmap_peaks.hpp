#pragma once
// Candidates from a centre heatmap (the 3D detector's output, docs/model.md): local maxima of the heatmap above a
// threshold, strongest first, each with the diameter the size map gives at its voxel. Centres are refined to
// sub-voxel precision (per axis, a Gaussian fitted to the peak and its two neighbours) and go to world mm through the
// heatmap's geometry (direction matrix included), so a heatmap on a resampled grid gives world positions directly.
// The segmentation head's candidates are its probability's connected components instead.
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "nodulecad/core/volume.hpp"
#include "nodulecad/detect/candidates.hpp"

namespace nodulecad {

struct PeakOptions {
    double threshold = 0.05;       // heatmap value a peak must reach
    double min_distance_mm = 4;    // two peaks at least this far apart (the stronger is kept)
    int max_per_scan = 100;        // 0 = all (the segmentation head's components too)
    double component_threshold = 0.5;  // the segmentation head: components of the probability at or above this
    // Plus those of the N strongest Hessian blobs per scan that no peak covers (detect/blobs.hpp), each with the network's
    // value near it as probability: small round nodules the network ranks too low to be among the peaks (0 = none).
    int blobs_per_scan = 0;
    void check() const;            // OptionError for values no scan can use
};
void to_json(nlohmann::json& j, const PeakOptions& o);
void from_json(const nlohmann::json& j, PeakOptions& o);  // keeps the current value of a missing key

// `heatmap` in [0, 1]; `diameter_mm` (same grid, optional: empty volume = NaN diameters) the size map in mm.
std::vector<DetectedCandidate> heatmap_peaks(const std::string& uid, const Volume<float>& heatmap, const Volume<float>& diameter_mm,
                                             const PeakOptions& opts);

// Candidates from the segmentation head's nodule probability (same grid and geometry): its connected components at
// or above component_threshold (detect_candidates: probability-weighted centroid in world mm, equivalent-sphere
// diameter, the maximum as probability), at most max_per_scan, strongest first.
std::vector<DetectedCandidate> segmentation_components(const std::string& uid, const Volume<float>& probability, const PeakOptions& opts);

}  // namespace nodulecad
