#pragma once
// Candidates from a probability volume: threshold, 3D connected components (26-connected), one candidate per
// component — probability-weighted centroid in world mm through the direction matrix, equivalent-sphere diameter,
// probability (CandidateScore) — size filters, and at most `max_per_scan` by probability.
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "nodulecad/core/enum_names.hpp"
#include "nodulecad/core/launch.hpp"
#include "nodulecad/core/volume.hpp"
#include "nodulecad/io/probability_map.hpp"
#include "nodulecad/io/tables.hpp"

namespace nodulecad {

// A component's candidate probability. `predict` writes 8-bit maps, where a dozen or more components a scan reach
// 255 (p = 1.0): ranked by the peak alone they tie at the top, and which of them a scan's first marks keep is an
// accident of their order. PeakShare breaks those ties by the share of the component's voxels at its peak value,
// so a solid core ranks above a thin wisp with one saturated voxel: p = peak - (1 - share) / 510, less than half an
// 8-bit level, so it orders equal 8-bit peaks and never reorders different ones (on float maps, peaks closer than
// 1/510 are ordered by the blend). Measured in docs/model.md ("The first stage's ties broken").
enum class CandidateScore { Peak, Mean, PeakShare };
inline constexpr EnumName<CandidateScore> kCandidateScoreNames[] = {
    {CandidateScore::Peak, "peak"}, {CandidateScore::Mean, "mean"}, {CandidateScore::PeakShare, "peak-share"}};

struct DetectOptions {
    double threshold = 0.5;
    CandidateScore score = CandidateScore::PeakShare;
    std::int64_t min_voxels = 1;
    double min_diameter_mm = 0, max_diameter_mm = 0;  // 0 = no limit
    int max_per_scan = 100;         // the LUNA16 cap; 0 = all
    int blobs_per_scan = 0;         // detect_predictions: also this many blob candidates from each scan (blobs.hpp)
    // Which blobs blobs_per_scan counts: false (the default, what every recipe was measured with) takes the scan's
    // strongest blobs and adds those no U-Net candidate covers, so a scan whose strongest blobs the U-Net already
    // found gets fewer; true counts only the uncovered ones, so every scan gets blobs_per_scan new candidates.
    bool blobs_uncovered = false;
    int threads = 1;
};
// Everything but threads (the pipeline's stage keys, the model bundle's card); from_json keeps the current value of
// a missing key. The score is written as before it had three values ("mean_probability"), plus "score" for
// peak-share only, so the stage keys and cards of earlier runs stay what they were and read back as they ranked.
void to_json(nlohmann::json& j, const DetectOptions& o);
void from_json(const nlohmann::json& j, DetectOptions& o);

struct DetectedCandidate {
    Candidate candidate;  // seriesuid, world, probability, diameter_mm
    std::int64_t voxels = 0;
};

// `probability` in [0, 1] per voxel: a float volume, or a uint8 one as predict writes it (io/probability_map.hpp).
std::vector<DetectedCandidate> detect_candidates(const std::string& uid, ProbabilityView probability, const DetectOptions& opts);

struct BlobOptions;  // blobs.hpp

// One scan's candidates, as detect_predictions finds them: from its probability volume and, with
// opts.blobs_per_scan > 0, the blobs of `scan` inside `lungs` (its lung mask) that no U-Net candidate covers —
// among the scan's blobs_per_scan strongest, or the blobs_per_scan strongest uncovered ones with
// opts.blobs_uncovered (`blobs` gives the filter's other settings; its max_per_scan and threads are taken from
// opts); by probability, capped at opts.max_per_scan.
std::vector<DetectedCandidate> detect_scan(const std::string& uid, ProbabilityView probability, const Volume<std::int16_t>* scan,
                                           const Volume<std::uint8_t>* lungs, const DetectOptions& opts, const BlobOptions& blobs);

// Every PRED/<uid>_prob.mhd of a predict folder, in uid order (with a shard: the shard's, items K, K+N, ...); each
// scan's candidates by probability; `scans` gets the number of volumes read. With opts.blobs_per_scan > 0 the scans
// themselves (found in `scans_dir`, a cohort folder) add blob candidates that no U-Net candidate covers
// (add_blob_candidates, default BlobOptions), and the cap applies to both together.
std::vector<Candidate> detect_predictions(const std::string& pred_dir, const DetectOptions& opts, int* scans = nullptr,
                                          const std::string& scans_dir = "", const Shard& shard = Shard{});

// Scans in uid order, each scan's candidates by decreasing probability (stable), as detect writes them.
void sort_candidates(std::vector<Candidate>& candidates);

}  // namespace nodulecad
