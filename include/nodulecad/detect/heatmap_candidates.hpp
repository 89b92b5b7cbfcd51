#pragma once
// The 3D detector's candidates: a scan's lungs, the network's heatmap over their box (infer/detector3d_infer.hpp)
// and its peaks in world mm (heatmap_peaks.hpp). What the pipeline runs on held-out and training scans and `infer`
// on new ones (a segmentation-head detector's: its probability's components, segmentation_components). Plain C++
// interface over the LibTorch runner.
#include <string>
#include <vector>

#include "nodulecad/detect/blobs.hpp"
#include "nodulecad/detect/heatmap_peaks.hpp"
#include "nodulecad/infer/detector3d_infer.hpp"
#include "nodulecad/io/cohort_layout.hpp"
#include "nodulecad/preprocess/lung_segmentation.hpp"

namespace nodulecad {

// One scan (`lungs`: its segment_lungs_robust mask). With peaks.blobs_per_scan > 0, the blobs no peak covers
// follow the peaks (`blobs`: the filter's settings; its count is peaks.blobs_per_scan).
std::vector<DetectedCandidate> detect_scan_3d(const std::string& uid, const Volume<std::int16_t>& scan, const Volume<std::uint8_t>& lungs,
                                              const Detector3dRunner& runner, const PeakOptions& peaks, int threads,
                                              const BlobOptions& blobs = BlobOptions{});

// Every scan of a list, with a progress bar: read, lungs, heatmap, peaks (and blobs); by probability.
std::vector<Candidate> detect_scans_3d(const std::vector<ScanFile>& scans, const Detector3dRunner& runner, const PeakOptions& peaks,
                                       const LungSegmentationOptions& lungs, int threads);

}  // namespace nodulecad
