// nodulecad detect --pred PRED --out candidates.csv: nodule candidates in world mm from probability volumes (or
// from the 3D detector, or an existing table to rescore), with optional false-positive reduction (--fpr MODEL
// --data COHORT); --shard K/N for a share of the scans.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/commands.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/core/random.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/detect/candidates.hpp"
#include "nodulecad/detect/fpr_score.hpp"
#include "nodulecad/detect/heatmap_peaks.hpp"
#include "nodulecad/io/candidate_parts.hpp"
#include "nodulecad/io/cohort_layout.hpp"
#include "nodulecad/io/tables.hpp"
#include "nodulecad/preprocess/fpr_patches.hpp"  // kCubeSymmetries
#ifdef NODULECAD_HAVE_TORCH
#include "nodulecad/detect/heatmap_candidates.hpp"
#include "nodulecad/pipeline/recipes.hpp"
#endif

namespace nodulecad::cli {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string file_hash(const std::string& path) { return std::to_string(hash_string(read_file(path))); }

// Each prediction volume's name, size and time: a part made from other volumes has another key.
json files_fingerprint(const std::vector<ScanFile>& files) {
    json j = json::array();
    for (const ScanFile& f : files) {
        std::error_code ec;
        const auto size = fs::file_size(f.path, ec);
        const auto time = fs::last_write_time(f.path, ec).time_since_epoch().count();
        j.push_back({fs::path(f.path).filename().string(), static_cast<std::uint64_t>(size), static_cast<std::int64_t>(time)});
    }
    return j;
}

}  // namespace

void register_detect(CLI::App& app) {
    auto o = std::make_shared<DetectOptions>();
    o->threads = default_thread_count();
    auto pred = std::make_shared<std::string>();
    auto in = std::make_shared<std::string>();
    auto det3d = std::make_shared<std::string>();
    auto flips = std::make_shared<int>(0);
    auto out = std::make_shared<std::string>();
    auto submission = std::make_shared<bool>(false);
    auto fpr = std::make_shared<FprApplyOptions>();
    auto shard = std::make_shared<std::string>();

    CLI::App* cmd = app.add_subcommand(
        "detect",
        "Turn probability volumes (PRED/<uid>_prob.mhd or .nii.gz from predict) into candidates: threshold, 26-connected components,\n"
        "probability-weighted centroid in world mm, equivalent-sphere diameter, probability = the component's peak (--score),\n"
        "size filters, at most --max-per-scan by probability. Writes seriesuid,coordX,coordY,coordZ,probability,diameter_mm.\n"
        "With --detector3d RUN/best.pt --data COHORT the candidates are the 3D detector's (train-3d) instead: each scan's\n"
        "lungs, its heatmap over their box, the peaks (or the segmentation head's components) in world mm.\n"
        "With --fpr MODEL --data COHORT each candidate is rescored by the false-positive-reduction network (train-fpr):\n"
        "--combine replace (p = p_fpr), product (p_unet * p_fpr) or mean; --candidates rescores an existing CSV instead.\n"
        "With --blobs N --data COHORT each scan also gives those of its N strongest 3D blobs (a Hessian filter inside the\n"
        "lungs that finds small round nodules a 2D network misses) that no U-Net candidate (with --detector3d: no peak)\n"
        "covers (--blobs-uncovered: the N strongest that no U-Net candidate covers); their probability is the network's\n"
        "there (usually ~0), so rank them with --fpr ... --combine replace.\n"
        "--shard K/N (or the rank under torchrun/srun) takes scans K, K+N, ... (uid order); each shard writes its scans'\n"
        "rows to OUT.parts/, and the shard that completes the set writes OUT, byte for byte one run's (docs/distributed.md).");
    auto* pred_opt = cmd->add_option("--pred", *pred, "Folder of <uid>_prob.mhd (or .nii.gz)");
    auto* cand_opt = cmd->add_option("--candidates", *in, "Rescore this candidates CSV (needs --fpr) instead of reading --pred");
    auto* det3d_opt = cmd->add_option("--detector3d", *det3d, "The 3D detector (RUN/best.pt from train-3d) finds the candidates on the scans of --data");
    pred_opt->excludes(cand_opt);
    det3d_opt->excludes(pred_opt);
    det3d_opt->excludes(cand_opt);
    cmd->add_option("--out", *out, "Output candidates CSV")->required();
    cmd->add_option("--threshold", o->threshold, "Probability threshold (--detector3d: the heatmap's peaks must reach it, default 0.05;\n"
                                                 "the segmentation head's components, default 0.5)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    auto* score_opt = add_enum_option(cmd, "--score", o->score, kCandidateScoreNames,
                                      "A component's probability: peak-share (its peak; equal peaks, as 8-bit maps saturate, ordered by\n"
                                      "the share of its voxels at the peak: p = peak - (1 - share) / 510), peak, or mean");
    cmd->add_flag_callback("--mean", [o] { o->score = CandidateScore::Mean; }, "The same as --score mean")->excludes(score_opt);
    cmd->add_option("--min-voxels", o->min_voxels, "Drop smaller components")->capture_default_str();
    cmd->add_option("--min-diameter", o->min_diameter_mm, "Drop candidates under this equivalent diameter (mm)")->capture_default_str();
    cmd->add_option("--max-diameter", o->max_diameter_mm, "Drop candidates over this equivalent diameter (mm; 0 = none)")->capture_default_str();
    cmd->add_option("--max-per-scan", o->max_per_scan, "At most this many per scan, by probability (LUNA16: 100; 0 = all)")->capture_default_str();
    cmd->add_option("--blobs", o->blobs_per_scan, "Also blob candidates: those of the scan's N strongest blobs no U-Net candidate\n"
                                                  "covers (needs --data; 0 = none)")->capture_default_str()->check(CLI::NonNegativeNumber);
    cmd->add_flag("--blobs-uncovered", o->blobs_uncovered, "--blobs counts only blobs no U-Net candidate covers: N new ones a scan");
    cmd->add_option("--flips", *flips, "For --detector3d: test-time passes averaged (none, then x, y, z, xy, xz, yz, xyz mirrored;\n"
                                       "1-8; 0 = as run does, 4)")
        ->capture_default_str()
        ->check(CLI::Range(0, 8));
    cmd->add_option("--fpr", fpr->model, "False-positive-reduction model (FPR/best.pt from train-fpr)");
    cmd->add_option("--data", fpr->data, "Cohort folder with the candidates' scans (for --fpr, --blobs and --detector3d)");
    add_enum_option(cmd, "--combine", fpr->combine, kFprCombineNames, "How --fpr combines: replace, product or mean");
    cmd->add_option("--symmetries", fpr->symmetries, "For --fpr: mean over this many turns and mirrors of each candidate's axial plane\n"
                                                     "(1 = none, up to 8; 9-16 add those upside down; 0 = as the model was validated)")
        ->capture_default_str()->check(CLI::Range(0, kCubeSymmetries));
    cmd->add_option("--device", fpr->device, "Device for --fpr and --detector3d: auto, cpu or cuda[:N]")->capture_default_str();
    cmd->add_option("--threads", o->threads, "Threads")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_flag("--submission", *submission, "LUNA16 / Tianchi submission: exactly seriesuid,coordX,coordY,coordZ,probability");
    cmd->add_option("--shard", *shard, "K/N: only scans K, K+N, K+2N, ... (uid order, K from 0), e.g. one job of a Slurm array; the shard that\n"
                                       "completes the set writes OUT. Under torchrun/srun: the rank's shard by default");
    cmd->callback([o, pred, in, det3d, flips, out, submission, fpr, shard, cmd] {
        use_threads(o->threads);
        const int sources = !pred->empty() + !in->empty() + !det3d->empty();
        if (sources == 0) throw Error("detect needs --pred (probability volumes), --detector3d with --data, or --candidates with --fpr");
        if (!in->empty() && fpr->model.empty()) throw Error("--candidates only makes sense with --fpr (rescoring)");
        if (!fpr->model.empty() && fpr->data.empty()) throw Error("--fpr needs --data, the cohort folder holding the candidates' scans");
        if (!det3d->empty() && fpr->data.empty()) throw Error("--detector3d needs --data, the cohort folder holding the scans");
        if (o->blobs_per_scan > 0 && ((pred->empty() && det3d->empty()) || fpr->data.empty()))
            throw Error("--blobs needs --pred (the U-Net's volumes) or --detector3d, and --data (the cohort folder holding the scans)");
        if (o->blobs_uncovered && (o->blobs_per_scan == 0 || pred->empty()))
            throw Error("--blobs-uncovered counts the --blobs N beside the U-Net's candidates: it needs --blobs and --pred (not --detector3d)");
#ifndef NODULECAD_HAVE_TORCH
        if (!fpr->model.empty() || !det3d->empty())
            throw Error(std::string(det3d->empty() ? "--fpr" : "--detector3d") +
                        ": this nodulecad was built without LibTorch (apt-get install libtorch-dev libopenblas0-openmp, then rebuild)");
#endif
        const Shard part = shard_for(*shard);
        // The scans in uid order, this shard's among them, and what the rows depend on (the parts' key).
        std::vector<std::string> all, mine;
        json key = {{"detect", *o}, {"submission", *submission}};
        std::vector<Candidate> input, candidates;
        std::vector<ScanFile> cohort;  // --detector3d: the scans of --data, in uid order
        if (!pred->empty()) {
            const std::vector<ScanFile> files = find_predictions(*pred);
            for (const ScanFile& f : files) all.push_back(f.uid);
            key["pred"] = {{"dir", *pred}, {"files", files_fingerprint(files)}, {"data", o->blobs_per_scan > 0 ? fpr->data : ""}};
        } else if (!det3d->empty()) {
            cohort = find_scans(fpr->data);
            for (const ScanFile& f : cohort) all.push_back(f.uid);
            key["detector3d"] = {{"model", file_hash(*det3d)}, {"data", fpr->data}, {"flips", *flips}, {"threshold_given", cmd->count("--threshold") > 0}};
        } else {
            input = read_results(*in);
            std::set<std::string> uids;
            for (const Candidate& c : input) uids.insert(c.seriesuid);
            all.assign(uids.begin(), uids.end());
            key["candidates"] = file_hash(*in);
        }
        for (std::size_t i = 0; i < all.size(); ++i)
            if (part.holds(i)) mine.push_back(all[i]);
        int scans = 0;
        if (!pred->empty()) {
            candidates = detect_predictions(*pred, *o, &scans, fpr->data, part);
        } else if (!det3d->empty()) {
#ifdef NODULECAD_HAVE_TORCH
            const PipelineOptions defaults = cpu_pipeline_defaults();
            Detector3dRunOptions r;
            r.model = *det3d;
            r.device = fpr->device;
            r.flips = *flips > 0 ? *flips : defaults.detector3d_flips;
            const Detector3dRunner runner(r);
            PeakOptions peaks;
            peaks.max_per_scan = o->max_per_scan;
            peaks.blobs_per_scan = o->blobs_per_scan;
            if (cmd->count("--threshold")) {
                if (runner.card().head == Detector3dHead::Heatmap) {
                    peaks.threshold = o->threshold;
                } else if (o->threshold <= 0 || o->threshold >= 1) {
                    throw OptionError("threshold", "must be in (0, 1) for the segmentation head's components, got " + std::to_string(o->threshold));
                } else {
                    peaks.component_threshold = o->threshold;
                }
            }
            peaks.check();
            std::vector<ScanFile> scan_files;
            for (std::size_t i = 0; i < cohort.size(); ++i)
                if (part.holds(i)) scan_files.push_back(cohort[i]);
            scans = static_cast<int>(scan_files.size());
            LungSegmentationOptions lungs;
            candidates = detect_scans_3d(scan_files, runner, peaks, lungs, o->threads);
#endif
        } else {
            const std::set<std::string> keep(mine.begin(), mine.end());
            for (const Candidate& c : input)
                if (keep.count(c.seriesuid)) candidates.push_back(c);
        }
        if (!fpr->model.empty()) {
#ifdef NODULECAD_HAVE_TORCH
            fpr->threads = o->threads;
            apply_fpr(candidates, *fpr);
            sort_candidates(candidates);
#endif
            key["fpr"] = {{"model", file_hash(fpr->model)}, {"data", fpr->data}, {"combine", enum_name(fpr->combine, kFprCombineNames)},
                          {"symmetries", fpr->symmetries}, {"device", fpr->device}};
        }
        // A rescored table that had no diameter_mm column is written without one (decided on the whole table, so
        // every shard decides alike).
        const bool diameters = !*submission && (in->empty() || std::any_of(input.begin(), input.end(), [](const Candidate& c) {
                                                     return !std::isnan(c.diameter_mm);
                                                 }));
        const fs::path parent = fs::path(*out).parent_path();
        if (!parent.empty()) fs::create_directories(parent);
        const std::string who = part.all() ? "detect: " : "detect shard " + part.describe() + ": ";
        const std::size_t n = in->empty() ? static_cast<std::size_t>(scans) : mine.size();
        const std::string from = (in->empty() ? " from " : " of ") + std::to_string(n) + (n == 1 ? " scan" : " scans");
        const std::string how = fpr->model.empty() ? "" : ", rescored by " + fpr->model;
        if (part.all()) {
            write_candidates(*out, candidates, diameters);
            std::cerr << who << candidates.size() << " candidates" << from << how << " -> " << *out << "\n";
        } else if (write_candidate_parts(*out, key.dump(), all, mine, candidates, diameters)) {
            std::cerr << who << candidates.size() << " candidates" << from << how << "; every scan's part is in, so -> " << *out << "\n";
        } else {
            std::cerr << who << candidates.size() << " candidates" << from << how << " -> " << candidate_parts_dir(*out, key.dump())
                      << "; " << *out << " waits for the other shards (the one completing the set writes it)\n";
        }
    });
}

}  // namespace nodulecad::cli
