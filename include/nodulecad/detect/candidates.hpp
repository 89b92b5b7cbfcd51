#pragma once
// Candidates from a probability volume: threshold, 3D connected components (26-connected), one candidate per
// component — probability-weighted centroid in world mm through the direction matrix, equivalent-sphere diameter,
// probability (max in the component, or mean) — size filters, and at most `max_per_scan` by probability.
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "nodulecad/core/volume.hpp"
#include "nodulecad/io/tables.hpp"

namespace nodulecad {

struct DetectOptions {
    double threshold = 0.5;
    bool mean_probability = false;  // candidate probability: max in the component (default) or mean
    std::int64_t min_voxels = 1;
    double min_diameter_mm = 0, max_diameter_mm = 0;  // 0 = no limit
    int max_per_scan = 100;         // the LUNA16 cap; 0 = all
    int blobs_per_scan = 0;         // detect_predictions: also this many blob candidates from each scan (blobs.hpp)
    int threads = 1;
};
// Everything but threads (the pipeline's stage keys).
void to_json(nlohmann::json& j, const DetectOptions& o);

struct DetectedCandidate {
    Candidate candidate;  // seriesuid, world, probability, diameter_mm
    std::int64_t voxels = 0;
};

// `probability` in [0, 1] per voxel (io/probability_map.hpp reads the files predict writes).
std::vector<DetectedCandidate> detect_candidates(const std::string& uid, const Volume<float>& probability, const DetectOptions& opts);

// Every PRED/<uid>_prob.mhd of a predict folder, in uid order; each scan's candidates by probability. With
// opts.blobs_per_scan > 0 the scans themselves (found in `scans_dir`, a cohort folder) add blob candidates that no
// U-Net candidate covers (add_blob_candidates), and the cap applies to both together.
std::vector<Candidate> detect_predictions(const std::string& pred_dir, const DetectOptions& opts, int* scans = nullptr,
                                          const std::string& scans_dir = "");

// Scans in uid order, each scan's candidates by decreasing probability (stable), as detect writes them.
void sort_candidates(std::vector<Candidate>& candidates);

}  // namespace nodulecad
