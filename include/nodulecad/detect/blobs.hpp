#pragma once
// Blob candidates straight from a scan, without a network: a multi-scale Hessian blob filter. A nodule is bright
// and round, so at the scale of its size all three second derivatives are strongly negative; a vessel is bright
// and long, so one of them is about zero; a wall is flat, so two are. The response is sigma^2 times the smallest
// magnitude of the three eigenvalues where all three are negative, and 0 elsewhere — high for the first only. This
// is what a 2D network cannot see on one slice: where a 4-mm nodule ends while a vessel of the same width goes on.
// The candidates are merged with the U-Net's and ranked by the FP reduction (see docs/detect.md).
//
// Why not Li, Sone and Doi's dot filter (|l3|^2 / |l1|): on 2.5-mm slices the curvature across slices of a small
// nodule is far larger than within the slice, and the ratio punished exactly the small nodules wanted here (on the
// demo's scans it found 90 rather than 92 of 115 nodules among the 10 best per scan).
//
// Geometry: derivatives are taken per index axis in millimetres (spacing), and the eigenvalues of the Hessian do
// not change under the orthonormal direction matrix, so the filter needs no resampling; centres go to world mm
// through the direction matrix like every other candidate.
#include <array>
#include <cstdint>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "nodulecad/core/volume.hpp"
#include "nodulecad/detect/candidates.hpp"

namespace nodulecad {

struct BlobOptions {
    std::vector<double> sigmas_mm = {1.0, 1.4, 2.0, 2.8};  // Gaussian scales; a sphere of diameter d peaks near d / 3.5
    double hu_lo = -1000, hu_hi = 150;  // HU clamped first, so bone cannot outshine a nodule next to it
    double min_response = 5;            // HU; weaker maxima are no blobs
    double min_distance_mm = 5;         // two candidates at least this far apart (the stronger is kept)
    int max_per_scan = 10;              // strongest first; 0 = all
    int threads = 1;

    void check() const;  // Error for values the filter cannot run with
};
// Everything but threads; from_json keeps the current value of a missing key.
void to_json(nlohmann::json& j, const BlobOptions& o);
void from_json(const nlohmann::json& j, BlobOptions& o);

// The response (HU, max over the scales; 0 outside the region or where the Hessian is not negative definite) and
// the scale that gave it, on the box of the scan's grid that holds the region grown by the widest kernel: the
// volumes' geometry places the box in world mm, `offset` is its first voxel's index in the scan. Empty volumes
// when the region is empty.
struct BlobResponse {
    Volume<float> response;
    Volume<float> sigma_mm;
    std::array<std::int64_t, 3> offset{};
};
BlobResponse blob_response(const Volume<std::int16_t>& scan, const Volume<std::uint8_t>& region, const BlobOptions& opts);

// Which blobs count towards BlobOptions::max_per_scan (by their world centre); empty: all of them.
using BlobCounts = std::function<bool(const Vec3& world)>;

// The filter's local maxima inside `region` (uint8, the scan's geometry; e.g. the lung mask), strongest first.
// Each candidate: world centre (sub-voxel), probability = response / (response + 100 HU) — an ordering, not a
// calibrated probability — and diameter 2 sqrt(3) sigma of the scale that answered most. With `counts`, the
// list runs on until max_per_scan blobs it accepts are in; the others are returned too (between them), and like
// every blob keep weaker ones within min_distance_mm out — so dropping them afterwards leaves exactly the
// strongest accepted blobs of the uncapped list.
std::vector<DetectedCandidate> detect_blobs(const std::string& uid, const Volume<std::int16_t>& scan, const Volume<std::uint8_t>& region,
                                            const BlobOptions& opts, const BlobCounts& counts = {});

// Whether one of the first `count` candidates covers `world`: closer than max(min_distance_mm, its radius).
bool covered_by(const std::vector<DetectedCandidate>& candidates, std::size_t count, const Vec3& world, double min_distance_mm);

// Adds to a scan's network candidates (the U-Net's, or the 3D detector's peaks) the blobs that none of them covers
// (farther than max(min_distance_mm, its radius) from each), each with the network's probability near it (max over
// the 27 voxels around its centre in `probability`: the U-Net's predict volume on the scan's grid, or the 3D
// detector's heatmap on its own) as its probability — so without the FP reduction they rank by what the network
// thought of the spot, usually last.
void add_blob_candidates(std::vector<DetectedCandidate>& candidates, const std::vector<DetectedCandidate>& blobs,
                         ProbabilityView probability, double min_distance_mm);

// The three eigenvalues of a symmetric 3x3 matrix (xx, yy, zz, xy, xz, yz), sorted by decreasing magnitude.
void symmetric_eigenvalues(double xx, double yy, double zz, double xy, double xz, double yz, double out[3]);

}  // namespace nodulecad
