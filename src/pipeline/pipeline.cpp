#include "nodulecad/pipeline/pipeline.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/core/folder_lock.hpp"
#include "nodulecad/core/random.hpp"
#include "nodulecad/detect/fpr_score.hpp"
#include "nodulecad/detect/heatmap_candidates.hpp"
#include "nodulecad/model/detector3d_config.hpp"
#include "nodulecad/preprocess/detector3d_dataset.hpp"
#include "nodulecad/infer/predict.hpp"
#include "nodulecad/io/cohort_layout.hpp"
#include "nodulecad/io/tables.hpp"
#include "nodulecad/pipeline/model_bundle.hpp"
#include "nodulecad/pipeline/splits.hpp"
#include "nodulecad/report/evaluation_folder.hpp"
#include "nodulecad/report/html_report.hpp"
#include "nodulecad/synth/manifest.hpp"

namespace nodulecad {

namespace fs = std::filesystem;
using json = nlohmann::json;

FprCombine choose_combine_rule(const std::vector<FprEpochMetrics>& epochs, int best_epoch, double* scores) {
    double sum[3] = {0, 0, 0};
    int n[3] = {0, 0, 0};
    for (const FprEpochMetrics& m : epochs) {
        if (m.epoch > best_epoch || m.epoch <= best_epoch - kCombineEpochs) continue;
        const double v[3] = {m.cpm_after, m.cpm_product, m.cpm_mean};
        for (int r = 0; r < 3; ++r)
            if (!std::isnan(v[r])) sum[r] += v[r], n[r] += 1;
    }
    const FprCombine rules[3] = {FprCombine::Replace, FprCombine::Product, FprCombine::Mean};
    FprCombine best = FprCombine::Replace;
    double best_cpm = std::numeric_limits<double>::quiet_NaN();
    for (int r = 0; r < 3; ++r) {
        const double mean = n[r] ? sum[r] / n[r] : std::numeric_limits<double>::quiet_NaN();
        if (scores) scores[r] = mean;
        if (!std::isnan(mean) && (std::isnan(best_cpm) || mean > best_cpm)) {
            best = rules[r];
            best_cpm = mean;
        }
    }
    return best;
}

namespace {

// Why the reduction's probability must replace the first stage's, or nullptr. Blob candidates: their first-stage
// probability is the U-Net's at a spot it did not pick, so product and mean would bury exactly the nodules the
// blobs were added for. Pooled detectors: the U-Net's and the heatmap's probabilities are on two scales.
const char* replace_reason(const PipelineOptions& o) {
    if (o.detector == Detector::Pooled) return "the pooled detectors' probabilities are not on one scale";
    if (o.detector == Detector::UNet2d && o.detect.blobs_per_scan > 0) return "blob candidates have no U-Net probability of their own";
    if (o.detector == Detector::Heatmap3d && o.peaks.blobs_per_scan > 0) return "blob candidates have no heatmap probability of their own";
    return nullptr;
}

// choose_combine_rule on FPR/metrics.csv at the epoch of FPR/best.pt, or replace for replace_reason; writes
// FPR/combine.txt.
FprCombine choose_combine(const std::string& fpr_dir, const char* replace_because) {
    FprCombine best = FprCombine::Replace;
    if (replace_because) {
        std::cerr << "  combination rule: replace (" << replace_because << ")\n";
    } else {
        const int epoch = fpr_checkpoint_epoch((fs::path(fpr_dir) / "best.pt").string());
        double scores[3];
        best = choose_combine_rule(read_fpr_metrics(fpr_dir), epoch, scores);
        std::cerr << "  combination rule by validation CPM (epochs " << std::max(1, epoch - kCombineEpochs + 1) << "-" << epoch << "): replace "
                  << scores[0] << ", product " << scores[1] << ", mean " << scores[2] << " -> " << enum_name(best, kFprCombineNames) << "\n";
    }
    write_file_atomically((fs::path(fpr_dir) / "combine.txt").string(), enum_name(best, kFprCombineNames) + "\n");
    return best;
}

// The rule a split used: the one given, the one chosen (FPR/combine.txt), or none without a reduction.
std::string combine_rule_of(const PipelineOptions& o, const fs::path& fpr) {
    std::error_code ec;
    if (!fs::exists(fpr / "best.pt", ec)) return "none";
    if (o.combine) return enum_name(*o.combine, kFprCombineNames);
    if (!fs::exists(fpr / "combine.txt", ec)) return "replace";
    std::string rule = read_file((fpr / "combine.txt").string());
    while (!rule.empty() && (rule.back() == '\n' || rule.back() == '\r')) rule.pop_back();
    return rule;
}

// One train/test split of the cohort and where its stages work (DIR: WORK, or WORK/fold<f>).
struct Split {
    std::string dir, prefix;
    int fold = 0;
    std::vector<ScanFile> train, test;
    FprScanChoice fpr;  // the training scans that give the FP reduction its candidates
    std::string annotations, excluded;

    std::string path(const std::string& name) const { return (fs::path(dir) / name).string(); }
};

struct SplitResult {
    std::string candidates_unet, candidates, unet_run, pred_test, test_dir;
    json key;          // of its final stage
    bool ran = false;  // whether its final stage ran now
};

std::vector<std::string> prediction_files(const std::vector<ScanFile>& scans, const std::string& folder) {
    std::vector<std::string> files;
    for (const auto& s : scans) files.push_back((fs::path(folder) / (s.uid + "_prob.mhd")).string());
    return files;
}

// Links to the training and test scans, so every tool sees one side of the split.
void stage_split(StageRunner& st, const PipelineOptions& o, const Split& s) {
    const json key = {{"data", fs::absolute(o.data_dir).string()}, {"train", uids_of(s.train)}, {"test", uids_of(s.test)},
                      {"annotations", hash_string(read_file(s.annotations))},
                      {"excluded", s.excluded.empty() ? 0 : hash_string(read_file(s.excluded))}, {"seed", o.seed}};
    st.run("split", {}, key, {s.path("split/train"), s.path("split/test")}, [&](bool) {
        link_scans(s.train, s.path("split/train"));
        link_scans(s.test, s.path("split/test"));
        write_seriesuids(s.path("split/test_uids.csv"), uids_of(s.test));
    });
}

// Links to the training scans whose candidates teach the FP reduction. A stage of its own so that choosing more or
// fewer of them (`--fpr-scans`) re-runs only what depends on them, not the preprocessing and the networks. Its key
// is the scans alone: the reduction's share of validation patients is in the fpr stage's own key, and changing it
// must not predict the same scans again.
void stage_split_fpr(StageRunner& st, const Split& s) {
    const json key = {{"fpr_scans", uids_of(s.fpr.scans)}};
    st.run("split-fpr", {"split"}, key, {s.path("split/fpr")}, [&](bool) { link_scans(s.fpr.scans, s.path("split/fpr")); });
}

void stage_preprocess(StageRunner& st, const PipelineOptions& o, const Split& s) {
    json key = o.prep;
    key["index_format"] = 2;  // index.csv with nodule_weight
    st.run("preprocess", {"split"}, key, {s.path("prep/stats.json"), s.path("prep/images.npy")}, [&](bool fresh) {
        std::error_code ec;
        if (fresh) fs::remove_all(s.path("prep"), ec);
        DatasetOptions p = o.prep;
        p.data_dir = s.path("split/train");
        p.annotations = s.annotations;
        p.out_dir = s.path("prep");
        p.val_subsets.clear();
        p.seed = o.seed;
        p.threads = o.threads;
        const DatasetSummary sum = build_dataset(p);
        std::cerr << "  " << sum.samples << " samples (" << sum.positives << " with nodules) from " << sum.scans << " scans\n";
    });
}

// A network's run under DIR/<folder>: the pipeline's device and seed, resumed when last.pt is there.
TrainerOptions pipeline_run(TrainerOptions run, const PipelineOptions& o, const Split& s, const std::string& folder) {
    std::error_code ec;
    run.run_dir = s.path(folder);
    run.device = o.device;
    run.seed = o.seed;
    run.resume = fs::exists(s.path(folder + "/last.pt"), ec);
    if (run.resume) std::cerr << "  resuming from " << s.path(folder + "/last.pt") << "\n";
    return run;
}

// Trains (or resumes) with `train` until DIR/<folder>/best.pt exists: a run that had finished but lost best.pt
// trains again from scratch. Returns the epochs of the last call.
template <class Options, class Train> auto train_until_best(const Split& s, const std::string& folder, Options& t, Train train) {
    std::error_code ec;
    auto m = train(t);
    if (!fs::exists(s.path(folder + "/best.pt"), ec)) {
        fs::remove_all(s.path(folder), ec);
        t.run.resume = false;
        m = train(t);
    }
    return m;
}

void stage_unet(StageRunner& st, const PipelineOptions& o, const Split& s) {
    st.run("unet", {"preprocess"}, {{"trainer", o.unet.run}, {"options", o.unet}}, {s.path("unet/best.pt")}, [&](bool fresh) {
        std::error_code ec;
        if (fresh) fs::remove_all(s.path("unet"), ec);
        TrainOptions t = o.unet;
        t.data_dir = s.path("prep");
        t.run = pipeline_run(o.unet.run, o, s, "unet");
        const auto m = train_until_best(s, "unet", t, train_unet);
        if (!m.empty()) std::cerr << "  last epoch: train Dice " << m.back().train_dice << ", validation Dice " << m.back().val_dice << "\n";
    });
}

void stage_predict(StageRunner& st, const PipelineOptions& o, const Split& s, const std::string& name, const std::string& scans_stage,
                   const std::vector<ScanFile>& scans, const std::string& scans_dir, const std::string& out_dir) {
    st.run(name, {scans_stage, "unet"}, json::object(), prediction_files(scans, s.path(out_dir)), [&](bool fresh) {
        std::error_code ec;
        if (fresh) fs::remove_all(s.path(out_dir), ec);
        PredictOptions p;
        p.model = s.path("unet/best.pt");
        p.data = s.path(scans_dir);
        p.out_dir = s.path(out_dir);
        p.device = o.device;
        p.threads = o.threads;
        p.skip_existing = true;
        predict_scans(p);
    });
}

// The options of the FP reduction's run: a fresh one on this split's candidates, or the interrupted one resumed.
FprTrainOptions fpr_run_options(const PipelineOptions& o, const Split& s) {
    std::error_code ec;
    if (fs::exists(s.path("fpr/last.pt"), ec)) {
        FprTrainOptions f = fpr_resume_options(s.path("fpr"));
        f.run.epochs = o.fpr.run.epochs;
        f.run.device = o.device;
        f.set.threads = o.threads;
        std::cerr << "  resuming from " << s.path("fpr/last.pt") << "\n";
        return f;
    }
    FprTrainOptions f = o.fpr;
    f.run.run_dir = s.path("fpr");
    f.run.device = o.device;
    f.run.seed = o.seed;
    f.set.data_dir = s.path("split/train");
    f.set.candidates = s.path("candidates_train.csv");
    f.set.annotations = s.annotations;
    f.set.excluded = s.excluded;
    f.set.val_fraction = s.fpr.val_fraction;
    f.set.threads = o.threads;
    return f;
}

// Without both classes among the training candidates there is nothing to learn: the pipeline then keeps the
// U-Net's probabilities (said on the console and in fpr/skipped.txt).
void stage_fpr(StageRunner& st, const PipelineOptions& o, const Split& s) {
    st.run("fpr", {"split-fpr", "candidates-train"}, {{"trainer", o.fpr.run}, {"options", o.fpr}}, {s.path("fpr/patches.json")}, [&](bool fresh) {
        std::error_code ec;
        if (fresh) fs::remove_all(s.path("fpr"), ec);
        FprTrainOptions f = fpr_run_options(o, s);
        FprSetOptions set = f.set;
        set.out_dir = f.run.run_dir;
        set.seed = f.run.seed;
        fs::remove(s.path("fpr/skipped.txt"), ec);
        const FprSetSummary summary = build_fpr_set(set);
        if (summary.train_positives == 0 || summary.train_negatives == 0) {
            const std::string why = "no false-positive reduction: the training candidates hold " + std::to_string(summary.train_positives) +
                                    " positive and " + std::to_string(summary.train_negatives) + " negative patches";
            write_file_atomically(s.path("fpr/skipped.txt"), why + "\n");
            std::cerr << "  " << why << "; the first stage's probabilities are kept\n";
            return;
        }
        FprTrainResult res = train_fpr(f);
        if (!fs::exists(s.path("fpr/best.pt"), ec)) {  // finished earlier but best.pt was deleted: train again
            fs::remove(s.path("fpr/last.pt"), ec);
            f.run.resume = false;
            res = train_fpr(f);
        }
        if (!res.epochs.empty()) {
            const auto& m = res.epochs.back();
            std::cerr << "  " << res.set.positives << " positive / " << res.set.negatives << " negative patches; ";
            if (res.set.val_uids.empty())
                std::cerr << "no validation patients (all its candidate scans teach it; it keeps the last epoch's weights)\n";
            else
                std::cerr << "last epoch: validation AUC " << m.val_auc << ", CPM " << m.cpm_before << " -> " << m.cpm_after << "\n";
        }
    });
}

// The held-out candidates rescored by the split's FP reduction, when it trained one, by probability.
void rescore_held_out(std::vector<Candidate>& c, const PipelineOptions& o, const Split& s) {
    std::error_code ec;
    if (!fs::exists(s.path("fpr/best.pt"), ec)) return;
    FprApplyOptions a;
    a.model = s.path("fpr/best.pt");
    a.data = s.path("split/test");
    a.combine = o.combine ? *o.combine : choose_combine(s.path("fpr"), replace_reason(o));
    a.device = o.device;
    a.threads = o.threads;
    apply_fpr(c, a);
    sort_candidates(c);
}

// The 3D detector's data: each training scan's lung box on the millimetre grid, validation patients marked.
void stage_grid3d(StageRunner& st, const PipelineOptions& o, const Split& s) {
    json key = {{"grid", o.grid3d}, {"val_fraction", o.prep.val_fraction}, {"seed", o.seed}};
    if (o.det3d.net.needs_lung_mask()) key["lung_mask"] = true;  // only then: work folders made before it keep their key
    st.run("grid3d", {"split"}, key, {s.path("grid3d/dataset.json")}, [&](bool) {
        std::error_code ec;
        fs::remove_all(s.path("grid3d"), ec);
        Detector3dDatasetOptions d;
        d.data_dir = s.path("split/train");
        d.annotations = s.annotations;
        d.out_dir = s.path("grid3d");
        d.grid = o.grid3d;
        d.val_fraction = o.prep.val_fraction;
        d.seed = o.seed;
        d.lung_mask = o.det3d.net.needs_lung_mask();
        d.threads = o.threads;
        const Detector3dDataset set = build_detector3d_dataset(d);
        std::size_t val = 0;
        for (const auto& sc : set.scans) val += sc.validation ? 1 : 0;
        std::cerr << "  " << set.scans.size() << " lung boxes at " << o.grid3d.spacing_mm << " mm (" << val << " validation patients)\n";
    });
}

// Trains (or resumes) the 3D detector until best.pt exists.
void stage_detector3d(StageRunner& st, const PipelineOptions& o, const Split& s) {
    st.run("detector3d", {"grid3d"}, {{"trainer", o.det3d.run}, {"options", o.det3d}}, {s.path("detector3d/best.pt")}, [&](bool fresh) {
        std::error_code ec;
        if (fresh) fs::remove_all(s.path("detector3d"), ec);
        Detector3dTrainOptions t = o.det3d;
        t.data_dir = s.path("grid3d");
        t.run = pipeline_run(o.det3d.run, o, s, "detector3d");
        const auto m = train_until_best(s, "detector3d", t, train_detector3d);
        if (!m.empty()) std::cerr << "  last epoch: train loss " << m.back().train_loss << ", validation loss " << m.back().val_loss << "\n";
    });
}

std::unique_ptr<Detector3dRunner> detector3d_runner(const PipelineOptions& o, const Split& s) {
    Detector3dRunOptions r;
    r.model = s.path("detector3d/best.pt");
    r.device = o.device;
    r.flips = o.detector3d_flips;
    return std::make_unique<Detector3dRunner>(r);
}

// The first stage's candidates on a side of the split (`pred`: its U-Net predictions, `scans_dir`: its scans,
// `scans`: the same as files): the U-Net's and/or the 3D detector's, pooled in that order; by probability.
std::vector<Candidate> first_stage_candidates(const PipelineOptions& o, const Split& s, const std::string& pred, const std::string& scans_dir,
                                              const std::vector<ScanFile>& scans) {
    std::vector<Candidate> c;
    if (uses_unet(o.detector)) {
        DetectOptions d = o.detect;
        d.threads = o.threads;  // not part of the stage's key: the candidates are the same on any thread count
        c = detect_predictions(s.path(pred), d, nullptr, s.path(scans_dir));
    }
    if (uses_detector3d(o.detector)) {
        for (auto& d : detect_scans_3d(scans, *detector3d_runner(o, s), o.peaks, LungSegmentationOptions{}, o.threads)) c.push_back(std::move(d));
        sort_candidates(c);
    }
    return c;
}

// What the first stage's candidates depend on besides its networks (the single detectors' keys as before the
// pooled one, so their work folders resume), and the stages it waits for.
json first_stage_key(const PipelineOptions& o) {
    const json three_d = {{"peaks", o.peaks}, {"flips", o.detector3d_flips}};
    if (o.detector == Detector::UNet2d) return o.detect;
    if (o.detector == Detector::Heatmap3d) return three_d;
    return {{"detect", o.detect}, {"peaks", o.peaks}, {"flips", o.detector3d_flips}};
}

std::vector<std::string> first_stage_inputs(const PipelineOptions& o, const char* predict_stage, const char* scans_stage) {
    std::vector<std::string> in{scans_stage};
    if (uses_unet(o.detector)) in.push_back(predict_stage);
    if (uses_detector3d(o.detector)) in.push_back("detector3d");
    return in;
}

void stage_candidates_train(StageRunner& st, const PipelineOptions& o, const Split& s) {
    st.run("candidates-train", first_stage_inputs(o, "predict-train", "split-fpr"), first_stage_key(o), {s.path("candidates_train.csv")}, [&](bool) {
        const auto c = first_stage_candidates(o, s, "pred_train", "split/fpr", s.fpr.scans);
        write_candidates(s.path("candidates_train.csv"), c, true);
        std::cerr << "  " << c.size() << " candidates on " << s.fpr.scans.size() << " training scans\n";
    });
}

// The held-out scans' candidates, before (candidates_unet.csv) and after (candidates.csv) the FP reduction.
void stage_candidates_test(StageRunner& st, const PipelineOptions& o, const Split& s, const SplitResult& r) {
    json key = first_stage_key(o);
    key["combine"] = o.combine ? enum_name(*o.combine, kFprCombineNames) : "auto";
    std::vector<std::string> in = first_stage_inputs(o, "predict-test", "split");
    in.push_back("fpr");
    st.run("candidates-test", in, key, {r.candidates_unet, r.candidates}, [&](bool) {
        std::vector<Candidate> c = first_stage_candidates(o, s, "pred_test", "split/test", s.test);
        write_candidates(r.candidates_unet, c, true);
        rescore_held_out(c, o, s);
        write_candidates(r.candidates, c, true);
        std::cerr << "  " << c.size() << " candidates on " << s.test.size() << " held-out scans\n";
    });
}

// The split's model bundle (DIR/model): its networks and the rules its held-out candidates were made with, for
// `infer` on new scans.
void stage_bundle(StageRunner& st, const PipelineOptions& o, const Split& s) {
    st.run("model", {"candidates-test"}, {{"format", kModelBundleFormat}}, {s.path("model/model.json")}, [&](bool) {
        ModelBundle b;
        b.detector = o.detector;
        if (uses_unet(o.detector)) b.unet = s.path("unet/best.pt");
        if (uses_detector3d(o.detector)) b.detector3d = s.path("detector3d/best.pt");
        b.peaks = o.peaks;
        b.detector3d_flips = o.detector3d_flips;
        std::error_code ec;
        if (fs::exists(s.path("fpr/best.pt"), ec)) {
            b.fpr = s.path("fpr/best.pt");
            b.combine = enum_from_name(combine_rule_of(o, s.path("fpr")), kFprCombineNames).value_or(FprCombine::Replace);
        }
        b.lungs_only = PredictOptions{}.lungs_only;
        b.detect = o.detect;
        b.blobs.max_per_scan = o.detect.blobs_per_scan;
        write_model_bundle(s.path("model"), b);
        std::cerr << "  model bundle for `nodulecad infer`: " << s.path("model") << "\n";
    });
}

// Every stage of one split, under its folder.
SplitResult run_split(const PipelineOptions& o, const Split& s, std::vector<StageTime>& times) {
    const bool unet = uses_unet(o.detector), three_d = uses_detector3d(o.detector);
    StageRunner st(s.path("stages"), s.prefix, 6 + (unet ? 4 : 0) + (three_d ? 2 : 0), times);
    if (o.merge) st.refuse_work(" (or was run with other options): run its job first, `run ... --folds " + std::to_string(o.folds) + " --fold " + std::to_string(s.fold) + "`");
    SplitResult r;
    r.candidates_unet = s.path("candidates_unet.csv");
    r.candidates = s.path("candidates.csv");
    r.unet_run = s.path(unet ? "unet" : "detector3d");
    r.pred_test = unet ? s.path("pred_test") : "";
    r.test_dir = s.path("split/test");
    stage_split(st, o, s);
    stage_split_fpr(st, s);
    if (unet) {
        stage_preprocess(st, o, s);
        stage_unet(st, o, s);
    }
    if (three_d) {
        stage_grid3d(st, o, s);
        stage_detector3d(st, o, s);
    }
    if (unet) stage_predict(st, o, s, "predict-train", "split-fpr", s.fpr.scans, "split/fpr", "pred_train");
    stage_candidates_train(st, o, s);
    stage_fpr(st, o, s);
    if (unet) stage_predict(st, o, s, "predict-test", "split", s.test, "split/test", "pred_test");
    stage_candidates_test(st, o, s, r);
    stage_bundle(st, o, s);
    r.key = st.key("model");
    r.ran = st.ran("model");
    return r;
}

std::vector<Candidate> concat_candidates(const std::vector<std::string>& files) {
    std::vector<Candidate> all;
    for (const auto& f : files)
        for (auto& c : read_results(f)) all.push_back(std::move(c));
    sort_candidates(all);
    return all;
}

// The splits' candidates pooled (WORK/candidates_unet.csv, WORK/candidates.csv, both with diameters for the error
// table) and scored on every held-out scan before (eval_unet/) and after (eval/) the reduction; the submission
// (WORK/submission.csv) holds the LUNA16 columns only.
void stage_evaluate(StageRunner& st, const PipelineOptions& o, const std::vector<SplitResult>& results, const std::vector<std::string>& test_uids,
                    const std::string& ann, const std::string& exc) {
    const auto path = [&](const std::string& name) { return (fs::path(o.work_dir) / name).string(); };
    const json key = {{"tests", test_uids}, {"bootstrap", o.bootstrap}, {"seed", o.seed}, {"diameters", true}, {"subgroups", 1}};
    st.run("evaluate", {"splits"}, key, {path("eval/summary.json"), path("eval_unet/summary.json"), path("submission.csv")}, [&](bool) {
        EvaluationOptions e;
        e.annotations = ann;
        e.excluded = exc;
        e.manifest = manifest_beside(ann);
        e.seriesuids = path("test_uids.csv");
        e.bootstrap = o.bootstrap;
        e.seed = o.seed;
        write_seriesuids(e.seriesuids, test_uids);
        std::vector<std::string> unet_files, files;
        for (const auto& r : results) {
            unet_files.push_back(r.candidates_unet);
            files.push_back(r.candidates);
        }
        const std::vector<Candidate> after = concat_candidates(files);
        write_candidates(path("candidates_unet.csv"), concat_candidates(unet_files), true);
        write_candidates(path("candidates.csv"), after, true);
        write_candidates(path("submission.csv"), after, false);
        EvaluationOptions before = e;
        before.results = path("candidates_unet.csv");
        before.out = path("eval_unet");
        const double cpm_before = write_evaluation(before).froc.cpm;
        e.results = path("candidates.csv");
        e.out = path("eval");
        const FrocResult r = write_evaluation(e).froc;
        std::cerr << "  CPM " << cpm_before << " (candidates before reduction) -> " << r.cpm << " (after false-positive reduction)\n";
    });
}

void stage_report(StageRunner& st, const PipelineOptions& o, const SplitResult& first) {
    const std::string report = (fs::path(o.work_dir) / "report.html").string();
    st.run("report", {"evaluate"}, {{"gallery", o.gallery}, {"version", 2}}, {report}, [&](bool) {
        ReportInputs in;
        in.eval_dir = (fs::path(o.work_dir) / "eval").string();
        in.run_dir = first.unet_run;
        in.pred_dir = first.pred_test;
        in.data_dir = first.test_dir;
        in.gallery_per_kind = o.gallery;
        write_file_atomically(report, build_report(in));
    });
}

std::string combine_used(const PipelineOptions& o, const SplitResult& first) {
    return combine_rule_of(o, fs::path(first.candidates).parent_path() / "fpr");
}

void write_summary(const PipelineOptions& o, PipelineSummary& sum, std::size_t splits, const SplitResult& first) {
    const auto path = [&](const std::string& name) { return (fs::path(o.work_dir) / name).string(); };
    const json after = json::parse(read_file(path("eval/summary.json")));
    const json before = json::parse(read_file(path("eval_unet/summary.json")));
    sum.cpm = after.at("cpm").get<double>();
    sum.cpm_unet = before.at("cpm").get<double>();
    sum.nodules = after.at("nodules").get<std::int64_t>();
    sum.detected = after.at("tp").get<std::int64_t>();
    sum.combine = combine_used(o, first);
    nlohmann::ordered_json s = {{"cpm", sum.cpm},         {"cpm_before_reduction", sum.cpm_unet}, {"combine", sum.combine},
                                {"test_scans", sum.test_scans}, {"nodules", sum.nodules},         {"detected", sum.detected},
                                {"submission", sum.submission}, {"report", sum.report},           {"folds", splits}};
    // A work folder evaluated before the budgets were reported has none: said as nothing, not as zeros.
    const json within = before.value("nodules_within_marks", json::array());
    sum.before_reduction_within.clear();
    for (const json& y : within)
        sum.before_reduction_within.push_back({y.at("marks_per_scan").get<int>(), y.at("mean_marks").get<double>(),
                                               y.at("nodules").get<std::int64_t>(), y.at("detected").get<std::int64_t>()});
    s["before_reduction_within_marks"] = within;
    s["subgroups"] = after.value("subgroups", json::array());
    json stages = json::array();
    for (const auto& t : sum.stages) stages.push_back({{"stage", t.name}, {"seconds", t.seconds}, {"cpu_seconds", t.cpu_seconds}, {"skipped", t.skipped}});
    s["stages"] = stages;
    write_file_atomically(path("summary.json"), s.dump(1) + "\n");
}

}  // namespace

PipelineSummary run_pipeline(const PipelineOptions& o) {
    // Options a late stage would refuse, refused before the first stage runs.
    o.fpr.net.check_patch(o.fpr.set.patch);
    require_between("detector3d_flips", o.detector3d_flips, 1, kMaxDetector3dFlips);
    o.peaks.check();
    if (o.detector == Detector::Pooled && o.peaks.blobs_per_scan > 0)
        throw OptionError("detector3d-blobs", "is for --detector heatmap3d: the pooled detector's U-Net candidates bring --blobs already");
    if (o.detect.blobs_uncovered && (o.detect.blobs_per_scan == 0 || !uses_unet(o.detector)))
        throw OptionError("blobs-uncovered", "counts the --blobs N beside the U-Net's candidates: it needs --blobs N and the U-Net (--detector unet2d or unet2d+heatmap3d)");
    if ((o.fold >= 0 || o.merge) && o.folds < 2) throw OptionError(o.merge ? "merge" : "fold", "needs --folds N (N >= 2)");
    if (o.fold >= o.folds && o.folds >= 2) throw OptionError("fold", "must be below --folds " + std::to_string(o.folds) + ", got " + std::to_string(o.fold));
    if (o.fold >= 0 && o.merge) throw OptionError("merge", "and --fold exclude each other: --fold F runs one fold's job, --merge evaluates them all");
    const std::vector<ScanFile> scans = find_scans(o.data_dir);
    const std::string ann = o.annotations.empty() ? default_annotations(o.data_dir) : o.annotations;
    const std::string exc = o.excluded.empty() ? default_excluded(o.data_dir) : o.excluded;
    std::error_code ec;
    if (!fs::exists(ann, ec)) fail(ann, "annotations file not found (give --annotations)");
    std::vector<std::set<std::string>> tests;
    try {
        tests = test_splits(scans, o.folds, o.test_subsets, o.test_fraction, o.seed);
    } catch (const OptionError&) {
        throw;
    } catch (const Error& e) {
        fail(o.data_dir, e.what());
    }
    fs::create_directories(o.work_dir, ec);
    if (ec) fail(o.work_dir, "cannot create the work folder: " + ec.message());
    // One process at a time in WORK — or, for one fold's job, in its fold's folder, so the folds' jobs can share WORK.
    const FolderLock work_lock(o.fold >= 0 ? (fs::path(o.work_dir) / ("fold" + std::to_string(o.fold))).string() : o.work_dir,
                               o.fold >= 0 ? "run --fold " + std::to_string(o.fold) : "run");
    remove_stale_temporaries(o.work_dir);  // what a killed run left mid-write (another live job's are kept)

    PipelineSummary sum;
    std::vector<SplitResult> results;
    std::vector<std::string> test_uids;
    std::string unfinished, first_reason;
    for (std::size_t f = 0; f < tests.size(); ++f) {
        if (o.fold >= 0 && static_cast<int>(f) != o.fold) continue;
        Split s;
        s.dir = tests.size() > 1 ? (fs::path(o.work_dir) / ("fold" + std::to_string(f))).string() : o.work_dir;
        s.prefix = tests.size() > 1 ? "fold " + std::to_string(f) + ": " : "";
        s.fold = static_cast<int>(f);
        for (const auto& scan : scans) (tests[f].count(scan.uid) ? s.test : s.train).push_back(scan);
        for (const auto& scan : s.test) test_uids.push_back(scan.uid);
        s.fpr = choose_fpr_scans(s.train, o.fpr_scans, o.fpr.set.val_fraction, o.seed);
        s.annotations = ann;
        s.excluded = exc;
        if (!o.merge) {
            const FolderLock fold_lock(s.dir, "run");  // a fold's job on the same WORK is refused, and refuses this
            results.push_back(run_split(o, s, sum.stages));
            continue;
        }
        // Merging: every fold is looked at, so the error names all that have not finished.
        try {
            results.push_back(run_split(o, s, sum.stages));
        } catch (const Error& e) {
            unfinished += (unfinished.empty() ? "" : ", ") + std::to_string(f);
            if (first_reason.empty()) first_reason = e.what();
        }
    }
    if (!unfinished.empty())
        throw Error(std::string(unfinished.find(',') == std::string::npos ? "fold " : "folds ") + unfinished + " of " + std::to_string(o.folds) +
                    " not finished, nothing merged; " + first_reason);
    if (o.fold >= 0) {
        // One fold's job: its model bundle and held-out candidates are in WORK/fold<F>; `--merge` evaluates.
        sum.fold = o.fold;
        sum.test_scans = static_cast<int>(test_uids.size());
        sum.submission = results.front().candidates;
        return sum;
    }

    // Evaluation of every held-out scan (all folds together), before and after false-positive reduction; the report.
    StageRunner st((fs::path(o.work_dir) / "stages").string(), "", 2, sum.stages);
    json splits_key = json::array();
    bool any_ran = false;
    for (const auto& r : results) {
        splits_key.push_back(r.key);
        any_ran = any_ran || r.ran;
    }
    st.add_key("splits", splits_key, any_ran);
    std::sort(test_uids.begin(), test_uids.end());
    stage_evaluate(st, o, results, test_uids, ann, exc);
    stage_report(st, o, results.front());
    sum.submission = (fs::path(o.work_dir) / "submission.csv").string();
    sum.report = (fs::path(o.work_dir) / "report.html").string();
    sum.test_scans = static_cast<int>(test_uids.size());
    write_summary(o, sum, tests.size(), results.front());
    return sum;
}

}  // namespace nodulecad
