#include "nodulecad/detect/heatmap_candidates.hpp"

#include "nodulecad/core/progress.hpp"

namespace nodulecad {

std::vector<DetectedCandidate> detect_scan_3d(const std::string& uid, const Volume<std::int16_t>& scan, const Volume<std::uint8_t>& lungs,
                                              const Detector3dRunner& runner, const PeakOptions& peaks, int threads, const BlobOptions& blobs) {
    const HeatmapVolumes maps = runner.run(scan, lungs, threads);
    std::vector<DetectedCandidate> found = runner.card().head == Detector3dHead::Segmentation
                                               ? segmentation_components(uid, maps.heat, peaks)
                                               : heatmap_peaks(uid, maps.heat, maps.diameter_mm, peaks);
    if (peaks.blobs_per_scan > 0) {
        BlobOptions b = blobs;
        b.max_per_scan = peaks.blobs_per_scan;
        b.threads = threads;
        add_blob_candidates(found, detect_blobs(uid, scan, lungs, b), maps.heat, b.min_distance_mm);
    }
    return found;
}

std::vector<Candidate> detect_scans_3d(const std::vector<ScanFile>& scans, const Detector3dRunner& runner, const PeakOptions& peaks,
                                       const LungSegmentationOptions& lungs, int threads) {
    std::vector<Candidate> all;
    Progress progress("detect3d", static_cast<std::int64_t>(scans.size()), "scans");
    for (const ScanFile& file : scans) {
        const Volume<std::int16_t> scan = read_scan(file);
        LungSegmentationOptions lo = lungs;
        lo.threads = threads;
        for (auto& c : detect_scan_3d(file.uid, scan, segment_lungs_robust(scan, lo).mask, runner, peaks, threads)) all.push_back(std::move(c.candidate));
        progress.advance();
    }
    progress.finish();
    sort_candidates(all);
    return all;
}

}  // namespace nodulecad
