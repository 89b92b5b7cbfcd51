// nodulecad detect --pred PRED --out candidates.csv: nodule candidates in world mm from probability volumes, with
// optional false-positive reduction (--fpr MODEL --data COHORT).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/detect/candidates.hpp"
#include "nodulecad/detect/fpr_score.hpp"
#include "nodulecad/io/tables.hpp"

namespace nodulecad::cli {

void register_detect(CLI::App& app) {
    auto o = std::make_shared<DetectOptions>();
    o->threads = default_thread_count();
    auto pred = std::make_shared<std::string>();
    auto in = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    auto submission = std::make_shared<bool>(false);
    auto fpr = std::make_shared<FprApplyOptions>();

    CLI::App* cmd = app.add_subcommand(
        "detect",
        "Turn probability volumes (PRED/<uid>_prob.mhd or .nii.gz from predict) into candidates: threshold, 26-connected components,\n"
        "probability-weighted centroid in world mm, equivalent-sphere diameter, probability = max (or --mean) in the\n"
        "component, size filters, at most --max-per-scan by probability. Writes seriesuid,coordX,coordY,coordZ,probability,diameter_mm.\n"
        "With --fpr MODEL --data COHORT each candidate is rescored by the false-positive-reduction network (train-fpr):\n"
        "--combine replace (p = p_fpr), product (p_unet * p_fpr) or mean; --candidates rescores an existing CSV instead.\n"
        "With --blobs N --data COHORT each scan also gives its N strongest 3D blobs (a Hessian filter inside the lungs that\n"
        "finds small round nodules a 2D network misses) that no U-Net candidate covers; their probability is the U-Net's\n"
        "there (usually ~0), so rank them with --fpr ... --combine replace.");
    auto* pred_opt = cmd->add_option("--pred", *pred, "Folder of <uid>_prob.mhd (or .nii.gz)");
    auto* cand_opt = cmd->add_option("--candidates", *in, "Rescore this candidates CSV (needs --fpr) instead of reading --pred");
    pred_opt->excludes(cand_opt);
    cmd->add_option("--out", *out, "Output candidates CSV")->required();
    cmd->add_option("--threshold", o->threshold, "Probability threshold")->capture_default_str()->check(CLI::Range(0.0, 1.0));
    cmd->add_flag("--mean", o->mean_probability, "Candidate probability = mean in the component instead of max");
    cmd->add_option("--min-voxels", o->min_voxels, "Drop smaller components")->capture_default_str();
    cmd->add_option("--min-diameter", o->min_diameter_mm, "Drop candidates under this equivalent diameter (mm)")->capture_default_str();
    cmd->add_option("--max-diameter", o->max_diameter_mm, "Drop candidates over this equivalent diameter (mm; 0 = none)")->capture_default_str();
    cmd->add_option("--max-per-scan", o->max_per_scan, "At most this many per scan, by probability (LUNA16: 100; 0 = all)")->capture_default_str();
    cmd->add_option("--blobs", o->blobs_per_scan, "Also this many blob candidates per scan (needs --data; 0 = none)")->capture_default_str()->check(CLI::NonNegativeNumber);
    cmd->add_option("--fpr", fpr->model, "False-positive-reduction model (FPR/best.pt from train-fpr)");
    cmd->add_option("--data", fpr->data, "Cohort folder with the candidates' scans (for --fpr and --blobs)");
    add_enum_option(cmd, "--combine", fpr->combine, kFprCombineNames, "How --fpr combines: replace, product or mean");
    cmd->add_option("--symmetries", fpr->symmetries, "For --fpr: mean over this many turns and mirrors of each candidate's axial plane\n"
                                                     "(1 = none, up to 8; 0 = as the model was validated)")->capture_default_str()->check(CLI::Range(0, 8));
    cmd->add_option("--device", fpr->device, "Device for --fpr: auto, cpu or cuda[:N]")->capture_default_str();
    cmd->add_option("--threads", o->threads, "Threads")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_flag("--submission", *submission, "LUNA16 / Tianchi submission: exactly seriesuid,coordX,coordY,coordZ,probability");
    cmd->callback([o, pred, in, out, submission, fpr] {
        use_threads(o->threads);
        namespace fs = std::filesystem;
        if (pred->empty() && in->empty()) throw Error("detect needs --pred (probability volumes) or --candidates with --fpr");
        if (!in->empty() && fpr->model.empty()) throw Error("--candidates only makes sense with --fpr (rescoring)");
        if (!fpr->model.empty() && fpr->data.empty()) throw Error("--fpr needs --data, the cohort folder holding the candidates' scans");
        if (o->blobs_per_scan > 0 && (pred->empty() || fpr->data.empty()))
            throw Error("--blobs needs --pred (the U-Net's volumes) and --data (the cohort folder holding their scans)");
        std::vector<Candidate> candidates;
        int scans = 0;
        candidates = in->empty() ? detect_predictions(*pred, *o, &scans, fpr->data) : read_results(*in);
        if (!fpr->model.empty()) {
#ifdef NODULECAD_HAVE_TORCH
            fpr->threads = o->threads;
            apply_fpr(candidates, *fpr);
            sort_candidates(candidates);
#else
            throw Error("--fpr: this nodulecad was built without LibTorch (apt-get install libtorch-dev libopenblas0-openmp, then rebuild)");
#endif
        }
        // A rescored table that had no diameter_mm column is written without one.
        const bool diameters = !*submission && (in->empty() || std::any_of(candidates.begin(), candidates.end(), [](const Candidate& c) {
                                                     return !std::isnan(c.diameter_mm);
                                                 }));
        const fs::path parent = fs::path(*out).parent_path();
        if (!parent.empty()) fs::create_directories(parent);
        write_candidates(*out, candidates, diameters);
        std::cerr << "detect: " << candidates.size() << " candidates" << (in->empty() ? " from " + std::to_string(scans) + " scans" : "")
                  << (fpr->model.empty() ? "" : ", rescored by " + fpr->model) << " -> " << *out << "\n";
    });
}

}  // namespace nodulecad::cli
