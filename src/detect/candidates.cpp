#include "nodulecad/detect/candidates.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/math.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/detect/blobs.hpp"
#include "nodulecad/io/cohort_layout.hpp"
#include "nodulecad/io/image_file.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/io/probability_map.hpp"
#include "nodulecad/preprocess/components.hpp"
#include "nodulecad/preprocess/lung_segmentation.hpp"

namespace nodulecad {

namespace {

// A scan's candidates by decreasing probability (stable), at most `max_per_scan` (0 = all).
void rank_and_cap(std::vector<DetectedCandidate>& c, int max_per_scan) {
    std::stable_sort(c.begin(), c.end(), [](const DetectedCandidate& x, const DetectedCandidate& y) {
        return x.candidate.probability > y.candidate.probability;
    });
    if (max_per_scan > 0 && static_cast<int>(c.size()) > max_per_scan) c.resize(static_cast<std::size_t>(max_per_scan));
}

// CandidateScore's probability of a component of n voxels: peak p, sum of p, `at_peak` voxels at the peak value.
double component_score(CandidateScore score, double peak, double sum, std::int64_t at_peak, std::int64_t n) {
    switch (score) {
        case CandidateScore::Mean:
            return sum / static_cast<double>(n);
        case CandidateScore::PeakShare:
            return peak - (1.0 - static_cast<double>(at_peak) / static_cast<double>(n)) / 510.0;
        case CandidateScore::Peak:
            break;
    }
    return peak;
}

}  // namespace

void to_json(nlohmann::json& j, const DetectOptions& o) {
    j = {{"threshold", o.threshold},         {"mean_probability", o.score == CandidateScore::Mean}, {"min_voxels", o.min_voxels},
         {"min_diameter_mm", o.min_diameter_mm}, {"max_diameter_mm", o.max_diameter_mm},  {"max_per_scan", o.max_per_scan},
         {"blobs_per_scan", o.blobs_per_scan}};
    // Only when set, so the stage keys and model cards of every earlier run stay what they were.
    if (o.blobs_uncovered) j["blobs_uncovered"] = true;
    if (o.score == CandidateScore::PeakShare) j["score"] = enum_name(o.score, kCandidateScoreNames);
}

void from_json(const nlohmann::json& j, DetectOptions& o) {
    o.threshold = j.value("threshold", o.threshold);
    // A card or key from before peak-share holds only the flag: it ranked by the peak or the mean.
    if (j.contains("mean_probability")) o.score = j.at("mean_probability").get<bool>() ? CandidateScore::Mean : CandidateScore::Peak;
    if (j.contains("score")) o.score = parse_enum("score", j.at("score").get<std::string>(), kCandidateScoreNames);
    o.min_voxels = j.value("min_voxels", o.min_voxels);
    o.min_diameter_mm = j.value("min_diameter_mm", o.min_diameter_mm);
    o.max_diameter_mm = j.value("max_diameter_mm", o.max_diameter_mm);
    o.max_per_scan = j.value("max_per_scan", o.max_per_scan);
    o.blobs_per_scan = j.value("blobs_per_scan", o.blobs_per_scan);
    o.blobs_uncovered = j.value("blobs_uncovered", o.blobs_uncovered);
}

std::vector<DetectedCandidate> detect_candidates(const std::string& uid, ProbabilityView prob, const DetectOptions& o) {
    const Geometry& g = prob.geometry();
    Volume<std::uint8_t> mask(g, 0);
    const auto plane = static_cast<std::size_t>(g.size[0] * g.size[1]);
    parallel_for(g.size[2], std::max(1, o.threads), [&](std::int64_t k) {
        for (std::size_t n = static_cast<std::size_t>(k) * plane, end = n + plane; n < end; ++n) mask.voxels[n] = prob[n] >= o.threshold ? 1 : 0;
    });
    const Components c = label_volume(mask, o.threads, true);
    struct Acc {
        double w = 0, wi = 0, wj = 0, wk = 0, pmax = 0, psum = 0;
        std::int64_t n = 0, at_max = 0;  // voxels, and those at the peak value
    };
    std::vector<Acc> acc(static_cast<std::size_t>(c.count));
    for (std::size_t r = 0; r < c.runs.size(); ++r) {
        Acc& a = acc[static_cast<std::size_t>(c.label[r])];
        const std::int64_t j = c.runs[r].row % g.size[1], k = c.runs[r].row / g.size[1];
        for (std::int64_t i = c.runs[r].x0; i < c.runs[r].x1; ++i) {
            const double p = prob.at(i, j, k);
            a.w += p;
            a.wi += p * static_cast<double>(i);
            a.wj += p * static_cast<double>(j);
            a.wk += p * static_cast<double>(k);
            if (p > a.pmax) {
                a.pmax = p;
                a.at_max = 1;
            } else if (p == a.pmax) {
                ++a.at_max;
            }
            a.psum += p;
            ++a.n;
        }
    }
    const IndexWorldTransform t(g);
    const double voxel_mm3 = g.spacing[0] * g.spacing[1] * g.spacing[2];
    std::vector<DetectedCandidate> out;
    for (const Acc& a : acc) {
        if (a.n < o.min_voxels || !(a.w > 0)) continue;
        const double diameter = equivalent_diameter_mm(static_cast<double>(a.n), voxel_mm3);
        if (o.min_diameter_mm > 0 && diameter < o.min_diameter_mm) continue;
        if (o.max_diameter_mm > 0 && diameter > o.max_diameter_mm) continue;
        DetectedCandidate d;
        d.candidate.seriesuid = uid;
        d.candidate.world = t.to_world({a.wi / a.w, a.wj / a.w, a.wk / a.w});
        d.candidate.probability = component_score(o.score, a.pmax, a.psum, a.at_max, a.n);
        d.candidate.diameter_mm = diameter;
        d.voxels = a.n;
        out.push_back(d);
    }
    rank_and_cap(out, o.max_per_scan);
    return out;
}

std::vector<Candidate> detect_predictions(const std::string& pred_dir, const DetectOptions& opts, int* scans, const std::string& scans_dir,
                                          const Shard& shard) {
    std::vector<ScanFile> files;
    const std::vector<ScanFile> every = find_predictions(pred_dir);
    for (std::size_t i = 0; i < every.size(); ++i)
        if (shard.holds(i)) files.push_back(every[i]);
    if (scans) *scans = static_cast<int>(files.size());
    std::map<std::string, ScanFile> scan_of;
    if (opts.blobs_per_scan > 0) {
        if (scans_dir.empty()) throw Error("blob candidates need the scans (a cohort folder) beside the predictions");
        for (const ScanFile& s : find_scans(scans_dir)) scan_of[s.uid] = s;
    }
    for (const ScanFile& f : files)
        if (opts.blobs_per_scan > 0 && !scan_of.count(f.uid)) fail(f.path, "no scan " + f.uid + " in " + scans_dir + " for its blob candidates");
    // Scans on `threads` workers, the threads shared out among them: most of a scan's work (reading, the lungs, the
    // blob filter) keeps one thread busy. The candidates come out in the scans' order, whatever the workers.
    const int threads = std::max(1, opts.threads);
    const int workers = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(threads), std::max<std::size_t>(1, files.size())));
    DetectOptions each = opts;
    each.threads = std::max(1, threads / workers);
    std::vector<std::vector<DetectedCandidate>> found(files.size());
    parallel_for(static_cast<std::int64_t>(files.size()), workers, [&](std::int64_t i) {
        const ScanFile& f = files[static_cast<std::size_t>(i)];
        // Read as written (uint8 or float), without a float copy.
        const AnyVolume written = read_image(f.path);
        Volume<float> converted;
        const ProbabilityView prob = probability_view(written, converted);
        if (opts.blobs_per_scan <= 0) {
            found[static_cast<std::size_t>(i)] = detect_scan(f.uid, prob, nullptr, nullptr, each, BlobOptions{});
            return;
        }
        const ScanFile& s = scan_of.at(f.uid);
        const Volume<std::int16_t> scan = read_scan(s);
        if (scan.geometry.size != prob.geometry().size) fail(f.path, "the probability volume does not have the size of its scan " + s.path);
        LungSegmentationOptions lo;
        lo.threads = each.threads;
        const Volume<std::uint8_t> lungs = segment_lungs_robust(scan, lo).mask;
        found[static_cast<std::size_t>(i)] = detect_scan(f.uid, prob, &scan, &lungs, each, BlobOptions{});
    });
    std::vector<Candidate> out;
    for (auto& scan : found)
        for (auto& d : scan) out.push_back(std::move(d.candidate));
    return out;
}

std::vector<DetectedCandidate> detect_scan(const std::string& uid, ProbabilityView prob, const Volume<std::int16_t>* scan,
                                           const Volume<std::uint8_t>* lungs, const DetectOptions& opts, const BlobOptions& blobs) {
    std::vector<DetectedCandidate> found = detect_candidates(uid, prob, opts);
    if (opts.blobs_per_scan <= 0) return found;
    if (!scan || !lungs) throw Error("blob candidates need the scan and its lung mask");
    BlobOptions b = blobs;
    b.max_per_scan = opts.blobs_per_scan;
    b.threads = opts.threads;
    BlobCounts counts;
    if (opts.blobs_uncovered) {
        const std::size_t unet = found.size();
        counts = [&found, unet, &b](const Vec3& world) { return !covered_by(found, unet, world, b.min_distance_mm); };
    }
    add_blob_candidates(found, detect_blobs(uid, *scan, *lungs, b, counts), prob, b.min_distance_mm);
    rank_and_cap(found, opts.max_per_scan);
    return found;
}

void sort_candidates(std::vector<Candidate>& candidates) {
    std::stable_sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
        return a.seriesuid != b.seriesuid ? a.seriesuid < b.seriesuid : a.probability > b.probability;
    });
}

}  // namespace nodulecad
