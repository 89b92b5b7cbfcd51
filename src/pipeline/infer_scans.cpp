#include "nodulecad/pipeline/infer_scans.hpp"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <new>
#include <nlohmann/json.hpp>
#include <optional>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/core/folder_lock.hpp"
#include "nodulecad/core/progress.hpp"
#include "nodulecad/core/random.hpp"
#include "nodulecad/core/stopwatch.hpp"
#include "nodulecad/detect/fpr_score.hpp"
#include "nodulecad/detect/heatmap_candidates.hpp"
#include "nodulecad/infer/predict.hpp"
#include "nodulecad/io/cohort_layout.hpp"
#include "nodulecad/io/probability_map.hpp"
#include "nodulecad/io/tables.hpp"
#include "nodulecad/pipeline/model_bundle.hpp"

namespace nodulecad {

namespace fs = std::filesystem;

namespace {

// Everything a scan's result depends on: the card and the networks' bytes. A folder of per-scan results made with
// another bundle is cleared, not mixed in.
std::string bundle_key(const ModelBundle& b) {
    nlohmann::json key = {{"card", hash_string(read_file(b.card))}};
    if (!b.unet.empty()) key["unet"] = hash_string(read_file(b.unet));
    if (!b.detector3d.empty()) key["detector3d"] = hash_string(read_file(b.detector3d));
    if (!b.fpr.empty()) key["fpr"] = hash_string(read_file(b.fpr));
    return key.dump() + "\n";
}

// OUT/scans/, emptied when it holds another bundle's results.
std::string prepare_scan_folder(const std::string& out, const std::string& key) {
    const fs::path dir = fs::path(out) / "scans";
    const fs::path marker = dir / "bundle.key";
    std::error_code ec;
    if (fs::exists(marker, ec) && read_file(marker.string()) != key) {
        std::cerr << "  " << dir.string() << " holds results of another model bundle: they are redone\n";
        fs::remove_all(dir, ec);
    }
    fs::create_directories(dir, ec);
    if (ec) fail(dir.string(), "cannot create the output folder: " + ec.message());
    if (!fs::exists(marker, ec)) write_file_atomically(marker.string(), key);
    return dir.string();
}

// The networks, loaded once.
struct Networks {
    ModelBundle bundle;
    std::unique_ptr<ScanPredictor> unet;          // uses_unet
    std::unique_ptr<Detector3dRunner> detector3d;  // uses_detector3d
    std::unique_ptr<FprScorer> fpr;
};

Networks load_networks(const ModelBundle& b, const InferOptions& o) {
    Networks n;
    n.bundle = b;
    if (uses_unet(b.detector)) {
        PredictOptions p;
        p.model = b.unet;
        p.device = o.device;
        p.lungs_only = b.lungs_only;
        p.threads = o.threads;
        n.unet = std::make_unique<ScanPredictor>(p);
    }
    if (uses_detector3d(b.detector)) {
        Detector3dRunOptions r;
        r.model = b.detector3d;
        r.device = o.device;
        r.flips = b.detector3d_flips;
        n.detector3d = std::make_unique<Detector3dRunner>(r);
    }
    if (!b.fpr.empty()) {
        FprApplyOptions f;
        f.model = b.fpr;
        f.combine = b.combine;
        f.device = o.device;
        f.threads = o.threads;
        n.fpr = std::make_unique<FprScorer>(f);
    }
    return n;
}

// One scan, as the pipeline treats a held-out scan: its candidates by probability after the FP reduction.
std::vector<Candidate> infer_scan(const Networks& n, const ScanFile& file, int threads, InferTimes& t) {
    Stopwatch watch;
    const Volume<std::int16_t> scan = read_scan(file);
    t.read += watch.lap();
    LungSegmentationOptions lo = n.bundle.lungs;
    lo.threads = threads;
    const Volume<std::uint8_t> lungs = segment_lungs_robust(scan, lo).mask;
    t.lungs += watch.lap();
    // Pooled: the U-Net's candidates, then the 3D detector's — the order the pipeline's pooled tables sort from.
    std::vector<Candidate> found;
    if (n.unet) {
        const double network = n.unet->network_seconds();
        const AnyVolume written = n.unet->predict(scan, lungs);  // uint8, as predict writes it: read through a view
        Volume<float> converted;
        const ProbabilityView prob = probability_view(written, converted);
        t.unet_network += n.unet->network_seconds() - network;
        t.unet += watch.lap();
        DetectOptions d = n.bundle.detect;
        d.threads = threads;
        for (auto& c : detect_scan(file.uid, prob, &scan, &lungs, d, n.bundle.blobs)) found.push_back(std::move(c.candidate));
        t.candidates += watch.lap();
    }
    if (n.detector3d) {
        const double network = n.detector3d->network_seconds();
        for (auto& c : detect_scan_3d(file.uid, scan, lungs, *n.detector3d, n.bundle.peaks, threads, n.bundle.blobs)) found.push_back(std::move(c.candidate));
        t.detector3d_network += n.detector3d->network_seconds() - network;
        t.detector3d += watch.lap();
    }
    sort_candidates(found);  // pooled: the order the pipeline rescores them in
    if (n.fpr && !found.empty()) {
        std::vector<std::size_t> all(found.size());
        for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
        const double network = n.fpr->network_seconds();
        n.fpr->rescore(found, all, scan);
        t.fpr_network += n.fpr->network_seconds() - network;
        sort_candidates(found);
        t.fpr += watch.lap();
    }
    return found;
}

}  // namespace

InferSummary infer_scans(const InferOptions& o) {
    if (o.threads < 1) throw OptionError("threads", "must be >= 1, got " + std::to_string(o.threads));
    const ModelBundle bundle = read_model_bundle(o.model);
    const std::vector<ScanFile> scans = find_scans(o.data);
    // One unsharded run at a time in OUT (shards share it by design).
    std::optional<FolderLock> lock;
    if (o.shard.all()) lock.emplace(o.out, "infer");
    remove_stale_temporaries(o.out);  // what a killed run left mid-write (a live shard's are kept)
    const std::string scan_dir = prepare_scan_folder(o.out, bundle_key(bundle));
    const auto result_of = [&](const ScanFile& f) { return (fs::path(scan_dir) / (f.uid + ".csv")).string(); };
    std::error_code ec;
    // The networks are loaded before any scan (a bad network is the bundle's error, not every scan's), and only
    // when a scan still needs them: a finished folder loads nothing.
    std::vector<const ScanFile*> mine;
    for (std::size_t i = 0; i < scans.size(); ++i)
        if (o.shard.holds(i)) mine.push_back(&scans[i]);
    InferSummary sum;
    std::unique_ptr<Networks> nets;
    const auto load = [&] {
        Stopwatch watch;
        nets = std::make_unique<Networks>(load_networks(bundle, o));
        sum.times.load += watch.lap();
    };
    if (std::any_of(mine.begin(), mine.end(), [&](const ScanFile* f) { return !fs::exists(result_of(*f), ec); })) load();
    sum.scans = static_cast<int>(scans.size());
    sum.in_shard = static_cast<int>(mine.size());
    std::vector<Candidate> all;
    Progress progress(o.shard.all() ? "infer" : "infer shard " + o.shard.describe(), sum.in_shard, "scans");
    for (const ScanFile* scan : mine) {
        const ScanFile& file = *scan;
        const std::string result = result_of(file);
        std::string failure;
        try {
            if (fs::exists(result, ec)) {
                ++sum.reused;
            } else {
                if (!nets) load();  // its result vanished meanwhile
                write_candidates(result, infer_scan(*nets, file, o.threads, sum.times), true);
                ++sum.done;
            }
            for (auto& c : read_results(result)) all.push_back(std::move(c));
        } catch (const std::bad_alloc&) {
            failure = "out of memory";
        } catch (const std::exception& e) {  // nodulecad's errors, and LibTorch's on a scan it cannot take
            failure = e.what();
        }
        if (!failure.empty()) {
            if (failure.rfind(file.path, 0) != 0) failure = file.path + ": " + failure;
            std::cerr << "  skipped " << failure << "\n";
            sum.failures.push_back(failure);
        }
        progress.advance();
    }
    progress.finish();
    sum.candidates_file = (fs::path(o.out) / "candidates.csv").string();
    sum.submission = (fs::path(o.out) / "submission.csv").string();
    if (!o.shard.all()) {
        // The tables once every scan has its result (the other shards' too): the last shard to finish writes them,
        // from the same per-scan files an unsharded run reads. Shards finishing together write the same bytes.
        sum.tables = sum.failures.empty() && std::all_of(scans.begin(), scans.end(), [&](const ScanFile& f) { return fs::exists(result_of(f), ec); });
        if (!sum.tables) return sum;
        all.clear();
        for (const ScanFile& f : scans)
            for (auto& c : read_results(result_of(f))) all.push_back(std::move(c));
    }
    sort_candidates(all);
    sum.candidates = static_cast<std::int64_t>(all.size());
    write_candidates(sum.candidates_file, all, true);
    write_candidates(sum.submission, all, false);
    return sum;
}

}  // namespace nodulecad
