#include "pipeline/pipeline.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/random.hpp"
#include "infer/predict.hpp"
#include "io/cohort_layout.hpp"
#include "io/metaimage.hpp"
#include "io/tables.hpp"
#include "report/evaluation_folder.hpp"
#include "report/html_report.hpp"

namespace nodulecad {

namespace fs = std::filesystem;
using json = nlohmann::json;

PipelineOptions cpu_pipeline_defaults() {
    PipelineOptions o;
    o.prep.size = 320;
    o.prep.pixel_mm = 1.0;
    o.prep.context = 1;
    o.prep.negatives_per_positive = 0.5;
    o.prep.val_fraction = 0.1;
    o.unet.unet = {3, 16, 4, true};
    o.unet.loss = "dice_bce";
    o.unet.lr = 2e-3;
    o.unet.lr_schedule = "cosine";
    o.unet.batch = 16;
    o.unet.crop = 64;
    o.unet.epochs = 30;
    o.unet.epoch_samples = 1000;
    o.unet.sampling = "nodules";
    // Low enough for the small nodules the U-Net is unsure of (the FP reduction ranks them), and more negatives to
    // train the reduction on.
    o.detect.threshold = 0.1;
    // Plus the 10 strongest 3D blobs per scan that no U-Net candidate covers: the small nodules a 2D network misses
    // (docs/pipeline.md: 82 -> 92 of 115 nodules among the candidates).
    o.detect.blobs_per_scan = 10;
    o.fpr.epochs = 40;
    o.fpr.batch = 64;
    o.fpr.lr = 1e-3;
    return o;
}

PipelineOptions demo_pipeline_options(DemoSize size, CohortOptions& cohort) {
    PipelineOptions o = cpu_pipeline_defaults();
    cohort.preset = Preset::Demo;
    // subset = scan % 10, so subsets 8 and 9 hold 20 scans: 16 held-out scans (23 nodules) left a 95 % interval of
    // +-0.18 on the CPM; more training scans cost little (training time is set by the crops drawn, not the scans).
    cohort.scans = 100;
    o.test_subsets = {8, 9};
    o.prep.val_fraction = 0.08;  // 6 of the 80 training patients: validation runs whole slices every epoch
    o.fpr_scans = 32;   // candidates for the FP reduction from 32 of the training scans (prediction time)
    // No scale augmentation in the demo's short schedule: it makes the U-Net better on its own (validation Dice 0.61
    // -> 0.66, CPM before the reduction 0.27 -> 0.37 on 68 scans) but more specific, so its candidates hold 5 fewer
    // of 115 nodules and the FP reduction gets fewer negatives to learn from: 0.615 instead of 0.687 at the end
    // (docs/pipeline.md).
    o.unet.scale_augment = 0;
    if (size == DemoSize::Quick) {
        cohort.preset = Preset::Small;
        cohort.scans = 6;
        o.test_subsets = {4, 5};
        o.prep.size = 128;
        o.prep.pixel_mm = 2.8;
        o.unet.unet = {3, 4, 3, true};
        o.unet.crop = 32;
        o.unet.epochs = 1;
        o.unet.epoch_samples = 0;
        o.fpr.epochs = 1;
        o.fpr.net.width = 4;
        o.fpr.set.patch.patch = 16;
        o.fpr_scans = 0;
        o.bootstrap = 50;
        o.gallery = 1;
    } else if (size == DemoSize::Cuda) {
        cohort.preset = Preset::Full;
        cohort.scans = 100;
        o.test_subsets = {8, 9};
        o.prep.size = 512;
        o.prep.pixel_mm = 0.7;
        o.unet.unet = {3, 32, 5, true};
        o.unet.crop = 128;
        o.unet.epochs = 60;
        o.fpr.epochs = 40;
        o.fpr.net.width = 32;
        o.fpr_scans = 0;
    }
    return o;
}

namespace {

// Runs stages in order. A stage is skipped when its marker holds the same key (its options and its inputs' keys)
// and its outputs all exist, unless a stage it depends on ran now.
class Stages {
public:
    Stages(std::string marker_dir, std::string prefix, int total, std::vector<StageTime>& times)
        : dir_(std::move(marker_dir)), prefix_(std::move(prefix)), total_(total), times_(times) {
        fs::create_directories(dir_);
    }
    bool ran(const std::string& name) const { return ran_.count(name) > 0; }
    // `fresh` tells the stage that an input changed now (partial outputs must be discarded, not resumed).
    void run(const std::string& name, const std::vector<std::string>& deps, const json& options, const std::vector<std::string>& outputs,
             const std::function<void(bool fresh)>& f) {
        ++index_;
        json key = {{"options", options}};
        bool fresh = false;
        for (const auto& d : deps) {
            key["inputs"][d] = keys_.at(d);
            fresh = fresh || ran(d);
        }
        keys_[name] = key;
        const std::string marker = (fs::path(dir_) / (name + ".json")).string();
        const std::string label = "[" + std::to_string(index_) + "/" + std::to_string(total_) + "] " + prefix_ + name;
        std::error_code ec;
        // Same key and every output present: done. Another key (options changed) or a dependency that ran now:
        // fresh, partial work is discarded. Otherwise (interrupted, or outputs deleted) the stage resumes.
        bool same_key = false;
        if (fs::exists(marker, ec)) {
            try {
                same_key = json::parse(read_file(marker)).at("key") == key;
            } catch (const json::exception&) {
                same_key = false;
            }
            fresh = fresh || !same_key;
        }
        bool done = same_key && !fresh;
        for (const auto& p : outputs) done = done && fs::exists(p, ec);
        if (done) {
            std::cerr << label << ": done earlier, skipped\n";
            times_.push_back({prefix_ + name, 0, true});
            return;
        }
        ran_.insert(name);
        fs::remove(marker, ec);
        std::cerr << label << "\n";
        const auto t0 = std::chrono::steady_clock::now();
        f(fresh);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        write_file_atomically(marker, json({{"key", key}, {"seconds", s}}).dump(1) + "\n");
        times_.push_back({prefix_ + name, s, false});
    }
    void add_key(const std::string& name, const json& key, bool ran_now) {
        keys_[name] = key;
        if (ran_now) ran_.insert(name);
    }
    const json& key(const std::string& name) const { return keys_.at(name); }

private:
    std::string dir_, prefix_;
    int total_, index_ = 0;
    std::map<std::string, json> keys_;
    std::set<std::string> ran_;
    std::vector<StageTime>& times_;
};

// A folder that looks like a cohort but holds links to some of its scans (and their data files), so every tool
// sees exactly the scans of one side of a split.
void link_scans(const std::vector<ScanFile>& scans, const std::string& dir) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    for (const auto& s : scans) {
        const fs::path folder = fs::path(dir) / (s.subset >= 0 ? "subset" + std::to_string(s.subset) : std::string("scans"));
        fs::create_directories(folder);
        const fs::path src = fs::absolute(s.path);
        fs::create_symlink(src, folder / src.filename());
        if (src.extension() == ".mhd") {
            const MetaImageHeader h = read_metaimage_header(s.path);
            if (h.data_file == "LOCAL") continue;
            if (h.data_file.rfind("LIST", 0) == 0 || h.data_file.find('%') != std::string::npos)
                fail(s.path, "multi-file data (ElementDataFile = " + h.data_file + ") is not supported by run; convert to one .raw or .mha");
            const fs::path data = src.parent_path() / h.data_file;
            const fs::path link = folder / fs::path(h.data_file);
            if (link.has_parent_path()) fs::create_directories(link.parent_path());
            fs::create_symlink(data, link);
        }
    }
}

std::vector<std::string> uids_of(const std::vector<ScanFile>& scans) {
    std::vector<std::string> out;
    for (const auto& s : scans) out.push_back(s.uid);
    return out;
}

json options_json(const DatasetOptions& p) {
    return {{"size", p.size}, {"pixel_mm", p.pixel_mm}, {"context", p.context}, {"window", {p.window_lo, p.window_hi}}, {"mask_lungs", p.mask_lungs},
            {"negatives", p.negatives_per_positive}, {"min_negatives", p.min_negatives_per_scan}, {"val_fraction", p.val_fraction},
            {"float16", p.float16}, {"index_format", 2}};  // 2: index.csv with nodule_weight
}
json options_json(const TrainOptions& t) {
    return {{"epochs", t.epochs}, {"batch", t.batch}, {"lr", t.lr}, {"filters", t.unet.base_filters}, {"depth", t.unet.depth},
            {"batch_norm", t.unet.batch_norm}, {"loss", t.loss}, {"augment", t.augment}, {"crop", t.crop}, {"max_samples", t.max_samples_per_epoch},
            {"epoch_samples", t.epoch_samples}, {"lr_schedule", t.lr_schedule}, {"sampling", t.sampling},
            {"scale_augment", t.scale_augment}};
}
json options_json(const DetectOptions& d) {
    return {{"threshold", d.threshold}, {"mean", d.mean_probability}, {"min_voxels", d.min_voxels}, {"min_diameter", d.min_diameter_mm},
            {"max_diameter", d.max_diameter_mm}, {"max_per_scan", d.max_per_scan}, {"blobs", d.blobs_per_scan}};
}
json options_json(const FprTrainOptions& f) {
    const PatchOptions& p = f.set.patch;
    return {{"epochs", f.epochs}, {"batch", f.batch}, {"lr", f.lr}, {"width", f.net.width}, {"positive_ratio", f.positive_ratio},
            {"augment", f.augment}, {"patch", {p.patch, p.patch_mm, p.slab, p.max_shift}}, {"val_fraction", f.set.val_fraction},
            {"add_annotations", f.set.add_annotations}, {"max_samples", f.max_samples_per_epoch}, {"lr_schedule", f.lr_schedule},
            {"symmetries", f.symmetries}};
}

const char* combine_name(FprCombine c) { return c == FprCombine::Product ? "product" : c == FprCombine::Mean ? "mean" : "replace"; }

}  // namespace

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

// choose_combine_rule on FPR/metrics.csv at the epoch of FPR/best.pt; writes FPR/combine.txt. With blob candidates
// it is replace: their first-stage probability is the U-Net's at a spot it did not pick, so product and mean would
// bury exactly the nodules the blobs were added for.
FprCombine choose_combine(const std::string& fpr_dir, bool blobs) {
    if (blobs) {
        std::cerr << "  combination rule: replace (blob candidates have no U-Net probability of their own)\n";
        write_file_atomically((fs::path(fpr_dir) / "combine.txt").string(), "replace\n");
        return FprCombine::Replace;
    }
    const int epoch = fpr_checkpoint_epoch((fs::path(fpr_dir) / "best.pt").string());
    double scores[3];
    const FprCombine best = choose_combine_rule(read_fpr_metrics(fpr_dir), epoch, scores);
    std::cerr << "  combination rule by validation CPM (epochs " << std::max(1, epoch - kCombineEpochs + 1) << "-" << epoch
              << "): replace " << scores[0] << ", product " << scores[1] << ", mean " << scores[2] << " -> " << combine_name(best) << "\n";
    write_file_atomically((fs::path(fpr_dir) / "combine.txt").string(), std::string(combine_name(best)) + "\n");
    return best;
}

struct SplitResult {
    std::string candidates_unet, candidates, unet_run, pred_test, test_dir;
    json key;          // of its final stage
    bool ran = false;  // whether its final stage ran now
};

// Every stage of one train/test split, under `dir`.
SplitResult run_split(const PipelineOptions& o, const std::string& dir, const std::string& prefix, const std::vector<ScanFile>& train,
                      const std::vector<ScanFile>& test, const std::string& ann, const std::string& exc, std::vector<StageTime>& times) {
    const auto path = [&](const std::string& name) { return (fs::path(dir) / name).string(); };
    Stages st(path("stages"), prefix, 8, times);
    SplitResult r;
    r.candidates_unet = path("candidates_unet.csv");
    r.candidates = path("candidates.csv");
    r.unet_run = path("unet");
    r.pred_test = path("pred_test");
    r.test_dir = path("split/test");

    // The FP reduction's candidates come from fpr_scans of the training scans: the first ones of the order its
    // validation split draws from, so its validation patients (a fraction up to fpr_scans / scans) all have
    // candidates — a validation patient without them would only add nodules nothing could find.
    std::vector<ScanFile> fpr_train = train;
    double fpr_val_fraction = o.fpr.set.val_fraction;
    if (o.fpr_scans > 0 && static_cast<int>(fpr_train.size()) > o.fpr_scans) {
        fpr_train = validation_order(train, o.seed);
        fpr_train.resize(static_cast<std::size_t>(o.fpr_scans));
        std::sort(fpr_train.begin(), fpr_train.end(), [](const ScanFile& a, const ScanFile& b) { return a.uid < b.uid; });
        // A quarter of them at most, so three quarters still give training candidates.
        fpr_val_fraction = std::min(fpr_val_fraction, 0.25 * static_cast<double>(o.fpr_scans) / static_cast<double>(train.size()));
    }
    const json split_key = {{"data", fs::absolute(o.data_dir).string()}, {"train", uids_of(train)}, {"test", uids_of(test)},
                            {"fpr_scans", uids_of(fpr_train)}, {"annotations", hash_string(read_file(ann))},
                            {"excluded", exc.empty() ? 0 : hash_string(read_file(exc))}, {"seed", o.seed}};
    st.run("split", {}, split_key, {path("split/train"), path("split/test"), path("split/fpr")}, [&](bool) {
        link_scans(train, path("split/train"));
        link_scans(test, path("split/test"));
        link_scans(fpr_train, path("split/fpr"));
        write_seriesuids(path("split/test_uids.csv"), uids_of(test));
    });
    st.run("preprocess", {"split"}, options_json(o.prep), {path("prep/stats.json"), path("prep/images.npy")}, [&](bool fresh) {
        std::error_code ec;
        if (fresh) fs::remove_all(path("prep"), ec);
        DatasetOptions p = o.prep;
        p.data_dir = path("split/train");
        p.annotations = ann;
        p.out_dir = path("prep");
        p.val_subsets.clear();
        p.seed = o.seed;
        p.threads = o.threads;
        const DatasetSummary s = build_dataset(p);
        std::cerr << "  " << s.samples << " samples (" << s.positives << " with nodules) from " << s.scans << " scans\n";
    });
    st.run("unet", {"preprocess"}, options_json(o.unet), {path("unet/best.pt")}, [&](bool fresh) {
        std::error_code ec;
        if (fresh) fs::remove_all(path("unet"), ec);
        TrainOptions t = o.unet;
        t.data_dir = path("prep");
        t.run_dir = path("unet");
        t.device = o.device;
        t.threads = o.threads;
        t.seed = o.seed;
        t.resume = fs::exists(path("unet/last.pt"), ec);
        if (t.resume) std::cerr << "  resuming from " << path("unet/last.pt") << "\n";
        auto m = train_unet(t);
        if (!fs::exists(path("unet/best.pt"), ec)) {  // finished earlier but best.pt was deleted: train again
            fs::remove_all(path("unet"), ec);
            t.resume = false;
            m = train_unet(t);
        }
        if (!m.empty()) std::cerr << "  last epoch: train Dice " << m.back().train_dice << ", validation Dice " << m.back().val_dice << "\n";
    });
    const auto predict = [&](const std::string& data, const std::string& out, bool fresh) {
        std::error_code ec;
        if (fresh) fs::remove_all(out, ec);
        PredictOptions p;
        p.model = path("unet/best.pt");
        p.data = data;
        p.out_dir = out;
        p.device = o.device;
        p.threads = o.threads;
        p.skip_existing = true;
        predict_scans(p);
    };
    const auto predictions = [&](const std::vector<ScanFile>& scans, const std::string& folder) {
        std::vector<std::string> files;
        for (const auto& s : scans) files.push_back((fs::path(folder) / (s.uid + "_prob.mhd")).string());
        return files;
    };
    st.run("predict-train", {"split", "unet"}, json::object(), predictions(fpr_train, path("pred_train")), [&](bool fresh) { predict(path("split/fpr"), path("pred_train"), fresh); });
    st.run("candidates-train", {"predict-train"}, options_json(o.detect), {path("candidates_train.csv")}, [&](bool) {
        const auto c = detect_predictions(path("pred_train"), o.detect, nullptr, path("split/fpr"));
        write_candidates(path("candidates_train.csv"), c, true);
        std::cerr << "  " << c.size() << " candidates on " << fpr_train.size() << " training scans\n";
    });
    // Without both classes among the training candidates there is nothing to learn: the pipeline then keeps the
    // U-Net's probabilities (said on the console and in fpr/skipped.txt).
    st.run("fpr", {"split", "candidates-train"}, options_json(o.fpr), {path("fpr/patches.json")}, [&](bool fresh) {
        std::error_code ec;
        if (fresh) fs::remove_all(path("fpr"), ec);
        FprTrainOptions f = o.fpr;
        if (fs::exists(path("fpr/last.pt"), ec)) {
            f = fpr_resume_options(path("fpr"));
            f.epochs = o.fpr.epochs;
            std::cerr << "  resuming from " << path("fpr/last.pt") << "\n";
        } else {
            f.set.data_dir = path("split/train");
            f.set.candidates = path("candidates_train.csv");
            f.set.annotations = ann;
            f.set.excluded = exc;
            f.set.out_dir = path("fpr");
            f.set.seed = o.seed;
            f.set.val_fraction = fpr_val_fraction;
        }
        f.device = o.device;
        f.threads = o.threads;
        f.set.threads = o.threads;
        fs::remove(path("fpr/skipped.txt"), ec);
        const FprSetSummary set = build_fpr_set(f.set);
        if (set.train_positives == 0 || set.train_negatives == 0) {
            const std::string why = "no false-positive reduction: the training candidates hold " + std::to_string(set.train_positives) +
                                    " positive and " + std::to_string(set.train_negatives) + " negative patches";
            write_file_atomically(path("fpr/skipped.txt"), why + "\n");
            std::cerr << "  " << why << "; the U-Net's probabilities are kept\n";
            return;
        }
        FprTrainResult res = train_fpr(f);
        if (!fs::exists(path("fpr/best.pt"), ec)) {  // finished earlier but best.pt was deleted: train again
            fs::remove(path("fpr/last.pt"), ec);
            f.resume = false;
            res = train_fpr(f);
        }
        if (!res.epochs.empty()) {
            const auto& m = res.epochs.back();
            std::cerr << "  " << res.set.positives << " positive / " << res.set.negatives << " negative patches; last epoch: validation AUC "
                      << m.val_auc << ", CPM " << m.cpm_before << " -> " << m.cpm_after << "\n";
        }
    });
    st.run("predict-test", {"split", "unet"}, json::object(), predictions(test, path("pred_test")), [&](bool fresh) { predict(path("split/test"), path("pred_test"), fresh); });
    json test_options = options_json(o.detect);
    test_options["combine"] = o.combine_auto ? -1 : static_cast<int>(o.combine);
    st.run("candidates-test", {"predict-test", "fpr"}, test_options, {r.candidates_unet, r.candidates}, [&](bool) {
        std::vector<Candidate> c = detect_predictions(path("pred_test"), o.detect, nullptr, path("split/test"));
        write_candidates(r.candidates_unet, c, true);
        std::error_code ec;
        if (fs::exists(path("fpr/best.pt"), ec)) {
            FprApplyOptions a;
            a.model = path("fpr/best.pt");
            a.data = path("split/test");
            a.combine = o.combine_auto ? choose_combine(path("fpr"), o.detect.blobs_per_scan > 0) : o.combine;
            a.device = o.device;
            a.threads = o.threads;
            apply_fpr(c, a);
            sort_candidates(c);
        }
        write_candidates(r.candidates, c, true);
        std::cerr << "  " << c.size() << " candidates on " << test.size() << " held-out scans\n";
    });
    r.key = st.key("candidates-test");
    r.ran = st.ran("candidates-test");
    return r;
}

std::vector<Candidate> concat_candidates(const std::vector<std::string>& files) {
    std::vector<Candidate> all;
    for (const auto& f : files)
        for (auto& c : read_results(f)) all.push_back(std::move(c));
    sort_candidates(all);
    return all;
}

}  // namespace

PipelineSummary run_pipeline(const PipelineOptions& o) {
    if (o.folds == 1 || o.folds < 0) throw Error("--folds must be 0 (one split) or at least 2");
    if (!(o.test_fraction > 0 && o.test_fraction < 1)) throw Error("--test-fraction must be in (0, 1)");
    const std::vector<ScanFile> scans = find_scans(o.data_dir);
    const std::string ann = o.annotations.empty() ? default_annotations(o.data_dir) : o.annotations;
    const std::string exc = o.excluded.empty() ? default_excluded(o.data_dir) : o.excluded;
    std::error_code ec;
    if (!fs::exists(ann, ec)) fail(ann, "annotations file not found (give --annotations)");
    fs::create_directories(o.work_dir, ec);
    if (ec) fail(o.work_dir, "cannot create the work folder: " + ec.message());

    // The splits: each a list of test uids.
    std::vector<std::set<std::string>> splits;
    if (o.folds > 1) {
        const bool subsets = std::all_of(scans.begin(), scans.end(), [](const ScanFile& s) { return s.subset >= 0; });
        std::vector<std::size_t> order(scans.size());
        for (std::size_t n = 0; n < order.size(); ++n) order[n] = n;
        std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            return mix64(o.seed ^ hash_string(scans[a].uid)) < mix64(o.seed ^ hash_string(scans[b].uid));
        });
        splits.resize(static_cast<std::size_t>(o.folds));
        for (std::size_t r = 0; r < order.size(); ++r) {
            const ScanFile& s = scans[order[r]];
            splits[static_cast<std::size_t>(subsets ? s.subset % o.folds : static_cast<int>(r % static_cast<std::size_t>(o.folds)))].insert(s.uid);
        }
    } else {
        splits.push_back(validation_uids(scans, o.test_fraction, o.test_subsets, o.seed));
    }
    for (std::size_t f = 0; f < splits.size(); ++f)
        if (splits[f].empty() || splits[f].size() == scans.size())
            throw Error("split " + std::to_string(f) + " leaves no " + (splits[f].empty() ? "test" : "training") + " scans (" +
                        std::to_string(scans.size()) + " scans in " + o.data_dir + ")");

    PipelineSummary sum;
    std::vector<SplitResult> results;
    std::vector<std::string> test_uids;
    for (std::size_t f = 0; f < splits.size(); ++f) {
        std::vector<ScanFile> train, test;
        for (const auto& s : scans) (splits[f].count(s.uid) ? test : train).push_back(s);
        for (const auto& s : test) test_uids.push_back(s.uid);
        const std::string dir = splits.size() > 1 ? (fs::path(o.work_dir) / ("fold" + std::to_string(f))).string() : o.work_dir;
        const std::string prefix = splits.size() > 1 ? "fold " + std::to_string(f) + ": " : "";
        results.push_back(run_split(o, dir, prefix, train, test, ann, exc, sum.stages));
    }

    // Evaluation of every held-out scan (all folds together), before and after false-positive reduction.
    const auto path = [&](const std::string& name) { return (fs::path(o.work_dir) / name).string(); };
    Stages st(path("stages"), "", 2, sum.stages);
    json splits_key = json::array();
    bool any_ran = false;
    for (const auto& r : results) {
        splits_key.push_back(r.key);
        any_ran = any_ran || r.ran;
    }
    st.add_key("splits", splits_key, any_ran);
    std::sort(test_uids.begin(), test_uids.end());
    EvaluationOptions e;
    e.annotations = ann;
    e.excluded = exc;
    e.seriesuids = path("test_uids.csv");
    e.bootstrap = o.bootstrap;
    e.seed = o.seed;
    sum.submission = path("submission.csv");
    st.run("evaluate", {"splits"}, {{"tests", test_uids}, {"bootstrap", o.bootstrap}, {"seed", o.seed}}, {path("eval/summary.json"), path("eval_unet/summary.json"), sum.submission}, [&](bool) {
        write_seriesuids(e.seriesuids, test_uids);
        std::vector<std::string> unet_files, files;
        for (const auto& r : results) {
            unet_files.push_back(r.candidates_unet);
            files.push_back(r.candidates);
        }
        write_candidates(path("candidates_unet.csv"), concat_candidates(unet_files), false);
        write_candidates(sum.submission, concat_candidates(files), false);
        EvaluationOptions before = e;
        before.results = path("candidates_unet.csv");
        before.out = path("eval_unet");
        const double cpm_before = write_evaluation(before).froc.cpm;
        EvaluationOptions after = e;
        after.results = sum.submission;
        after.out = path("eval");
        const FrocResult r = write_evaluation(after).froc;
        std::cerr << "  CPM " << cpm_before << " (candidates before reduction) -> " << r.cpm << " (after false-positive reduction)\n";
    });
    sum.report = path("report.html");
    st.run("report", {"evaluate"}, {{"gallery", o.gallery}}, {sum.report}, [&](bool) {
        ReportInputs in;
        in.eval_dir = path("eval");
        in.run_dir = results.front().unet_run;
        in.pred_dir = results.front().pred_test;
        in.data_dir = results.front().test_dir;
        in.gallery_per_kind = o.gallery;
        write_file_atomically(sum.report, build_report(in));
    });

    const json after = json::parse(read_file(path("eval/summary.json")));
    const json before = json::parse(read_file(path("eval_unet/summary.json")));
    sum.cpm = after.at("cpm").get<double>();
    sum.cpm_unet = before.at("cpm").get<double>();
    sum.test_scans = static_cast<int>(test_uids.size());
    sum.nodules = after.at("nodules").get<std::int64_t>();
    sum.detected = after.at("tp").get<std::int64_t>();
    sum.combine = "none";
    if (fs::exists(fs::path(results.front().candidates).parent_path() / "fpr" / "best.pt", ec)) {
        sum.combine = combine_name(o.combine);
        const fs::path chosen = fs::path(results.front().candidates).parent_path() / "fpr" / "combine.txt";
        if (o.combine_auto && fs::exists(chosen, ec)) {
            sum.combine = read_file(chosen.string());
            while (!sum.combine.empty() && (sum.combine.back() == '\n' || sum.combine.back() == '\r')) sum.combine.pop_back();
        }
    }
    nlohmann::ordered_json s = {{"cpm", sum.cpm}, {"cpm_before_reduction", sum.cpm_unet}, {"combine", sum.combine}, {"test_scans", sum.test_scans}, {"nodules", sum.nodules},
                                {"detected", sum.detected}, {"submission", sum.submission}, {"report", sum.report}, {"folds", splits.size()}};
    json stages = json::array();
    for (const auto& t : sum.stages) stages.push_back({{"stage", t.name}, {"seconds", t.seconds}, {"skipped", t.skipped}});
    s["stages"] = stages;
    write_file_atomically(path("summary.json"), s.dump(1) + "\n");
    return sum;
}

}  // namespace nodulecad
