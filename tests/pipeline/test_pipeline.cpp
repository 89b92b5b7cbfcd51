// The whole pipeline in its quick configuration: every stage's outputs exist and parse; a re-run skips what is
// done; deleted outputs are rebuilt, and only what depends on them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "nodulecad/core/files.hpp"
#include "nodulecad/io/cohort_layout.hpp"
#include "nodulecad/io/csv.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/io/tables.hpp"
#include "nodulecad/model/detector3d.hpp"
#include "nodulecad/pipeline/pipeline.hpp"
#include "nodulecad/pipeline/recipes.hpp"
#include "nodulecad/pipeline/splits.hpp"
#include "nodulecad/preprocess/patient_split.hpp"
#include "nodulecad/synth/cohort.hpp"
#include "nodulecad/train/train_fpr.hpp"
#include "pipeline/quick_pipeline.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

namespace fs = std::filesystem;

std::map<std::string, bool> skipped(const PipelineSummary& s) {
    std::map<std::string, bool> m;
    for (const auto& t : s.stages) m[t.name] = t.skipped;
    return m;
}

TEST(Pipeline, QuickRunWritesEveryStageAndResumesAfterDeletions) {
    test::TempDir dir;
    PipelineOptions o = test::quick_pipeline(dir, 6);
    const PipelineSummary first = run_pipeline(o);
    const auto w = [&](const std::string& p) { return dir.path("work/" + p); };

    // Split: 4 training scans, 2 held out (subsets 4 and 5), as links that read like the cohort.
    EXPECT_EQ(find_scans(w("split/train")).size(), 4u);
    const auto test_scans = find_scans(w("split/test"));
    ASSERT_EQ(test_scans.size(), 2u);
    for (const auto& s : test_scans) EXPECT_TRUE(s.subset == 4 || s.subset == 5) << s.path;
    EXPECT_EQ(read_seriesuids(w("test_uids.csv")).size(), 2u);
    EXPECT_EQ(first.test_scans, 2);
    // Every stage wrote what it should, and it parses.
    EXPECT_GT(nlohmann::json::parse(read_file(w("prep/stats.json"))).at("samples").get<int>(), 0);
    EXPECT_EQ(read_csv(w("unet/metrics.csv"), true).rows.size(), 1u);
    for (const auto& s : test_scans) {
        const auto p = read_metaimage_header(w("pred_test/" + s.uid + "_prob.mhd"));
        EXPECT_EQ(p.geometry.size, read_metaimage_header(s.path).geometry.size);
    }
    EXPECT_EQ(find_predictions(w("pred_train")).size(), 4u);
    (void)read_results(w("candidates_train.csv"));
    EXPECT_TRUE(fs::exists(w("fpr/patches.json")));
    EXPECT_TRUE(fs::exists(w("fpr/best.pt")) || fs::exists(w("fpr/skipped.txt")));
    if (fs::exists(w("fpr/best.pt"))) {
        const std::string rule = read_file(w("fpr/combine.txt"));
        EXPECT_EQ(rule, "replace\n");  // blob candidates are on: --combine auto keeps replace
        EXPECT_EQ(first.combine + "\n", rule);
    }
    const auto unet = read_results(w("candidates_unet.csv"));
    const auto sub = read_results(w("submission.csv"));
    EXPECT_EQ(unet.size(), sub.size());  // reduction rescores, it never drops
    EXPECT_EQ(read_csv(w("submission.csv"), true).header, (std::vector<std::string>{"seriesuid", "coordX", "coordY", "coordZ", "probability"}));
    const auto summary = nlohmann::json::parse(read_file(w("summary.json")));
    EXPECT_DOUBLE_EQ(summary.at("cpm").get<double>(), first.cpm);
    EXPECT_DOUBLE_EQ(nlohmann::json::parse(read_file(w("eval/summary.json"))).at("cpm").get<double>(), first.cpm);
    const auto before = nlohmann::json::parse(read_file(w("eval_unet/summary.json")));
    EXPECT_DOUBLE_EQ(before.at("cpm").get<double>(), first.cpm_unet);
    // The candidates before the reduction, within each scan's first 10, 30 and 100: the last are the evaluation's own
    // 100, so they hit the nodules its FROC found.
    ASSERT_EQ(first.before_reduction_within.size(), 3u);
    EXPECT_EQ(first.before_reduction_within[0].marks_per_scan, 10);
    EXPECT_EQ(first.before_reduction_within[2].marks_per_scan, 100);
    EXPECT_EQ(first.before_reduction_within[2].detected, before.at("tp").get<std::int64_t>());
    EXPECT_LE(first.before_reduction_within[0].detected, first.before_reduction_within[1].detected);
    EXPECT_LE(first.before_reduction_within[0].mean_marks, 10.0);
    EXPECT_EQ(summary.at("before_reduction_within_marks").size(), 3u);
    EXPECT_EQ(summary.at("before_reduction_within_marks")[1].at("detected").get<std::int64_t>(), first.before_reduction_within[1].detected);
    EXPECT_NE(read_file(first.report).find("<html"), std::string::npos);
    EXPECT_EQ(first.stages.size(), 12u);
    EXPECT_TRUE(fs::exists(w("model/model.json")));
    for (const auto& t : first.stages) EXPECT_FALSE(t.skipped) << t.name;
    // Each stage's CPU time beside its wall time, in summary.json too; training a network is real work.
    const auto& recorded = summary.at("stages");
    ASSERT_EQ(recorded.size(), first.stages.size());
    for (std::size_t i = 0; i < first.stages.size(); ++i) {
        EXPECT_GE(first.stages[i].cpu_seconds, 0.0) << first.stages[i].name;
        EXPECT_DOUBLE_EQ(recorded[i].at("cpu_seconds").get<double>(), first.stages[i].cpu_seconds) << first.stages[i].name;
    }
    EXPECT_GT(first.stages[3].cpu_seconds, 0.0);
    EXPECT_EQ(first.stages[3].name, "unet");

    // Again: everything is done.
    const PipelineSummary again = run_pipeline(o);
    for (const auto& t : again.stages) EXPECT_TRUE(t.skipped) << t.name;
    for (const auto& t : again.stages) EXPECT_EQ(t.cpu_seconds, 0.0) << t.name;
    EXPECT_DOUBLE_EQ(again.cpm, first.cpm);

    // One held-out prediction and the evaluation deleted: that prediction, the test candidates, the evaluation and
    // the report are redone; training is not.
    fs::remove(w("pred_test/" + test_scans[0].uid + "_prob.mhd"));
    fs::remove(w("pred_test/" + test_scans[0].uid + "_prob.raw"));
    fs::remove_all(w("eval"));
    const auto third = skipped(run_pipeline(o));
    for (const char* s : {"split", "split-fpr", "preprocess", "unet", "predict-train", "candidates-train", "fpr"}) EXPECT_TRUE(third.at(s)) << s;
    for (const char* s : {"predict-test", "candidates-test", "model", "evaluate", "report"}) EXPECT_FALSE(third.at(s)) << s;
    EXPECT_EQ(read_results(w("submission.csv")).size(), sub.size());

    // The U-Net's best checkpoint deleted: the U-Net and everything after it run again.
    fs::remove(w("unet/best.pt"));
    const auto fourth = skipped(run_pipeline(o));
    for (const char* s : {"split", "split-fpr", "preprocess"}) EXPECT_TRUE(fourth.at(s)) << s;
    for (const char* s : {"unet", "predict-train", "candidates-train", "fpr", "predict-test", "candidates-test", "model", "evaluate", "report"})
        EXPECT_FALSE(fourth.at(s)) << s;
    EXPECT_TRUE(fs::exists(w("unet/best.pt")));
}

// The same cohort stored as NIfTI or as DICOM series (signed and unsigned storage, files in reverse slice order)
// must give the MetaImage twin's results: the formats carry the same voxels and the same world.
TEST(Pipeline, NiftiAndDicomCohortsScoreAsTheirMetaImageTwin) {
    test::TempDir mhd_dir, nii_dir, dcm_dir;
    const PipelineSummary mhd = run_pipeline(test::quick_pipeline(mhd_dir, 6));
    const PipelineSummary nii = run_pipeline(test::quick_pipeline(nii_dir, 6, ImageFormat::Nifti));
    const PipelineSummary dcm = run_pipeline(test::quick_pipeline(dcm_dir, 6, ImageFormat::Dicom));
    EXPECT_EQ(find_scans(dcm_dir.path("work/split/train")).size(), 4u);
    EXPECT_DOUBLE_EQ(nii.cpm, mhd.cpm);
    EXPECT_DOUBLE_EQ(dcm.cpm, mhd.cpm);
    EXPECT_DOUBLE_EQ(dcm.cpm_unet, mhd.cpm_unet);
    for (const char* table : {"work/candidates_train.csv", "work/submission.csv"}) {
        SCOPED_TRACE(table);
        const auto a = read_results(mhd_dir.path(table));
        ASSERT_FALSE(a.empty());
        for (const auto* dir : {&nii_dir, &dcm_dir}) {
            SCOPED_TRACE(dir == &nii_dir ? "NIfTI" : "DICOM");
            const auto b = read_results(dir->path(table));
            ASSERT_EQ(a.size(), b.size());
            for (std::size_t i = 0; i < a.size(); ++i) {
                EXPECT_EQ(a[i].seriesuid, b[i].seriesuid);
                // NIfTI-1 keeps its geometry in float32 (micrometres here); DICOM's decimal strings are exact here.
                for (int k = 0; k < 3; ++k) EXPECT_NEAR(a[i].world[k], b[i].world[k], 1e-3);
                // The 3D FP reduction reads the whole cube, cut trilinearly at points that NIfTI's float32 geometry
                // moves by micrometres: its probability moves by about 1e-5 there (2.5D: under 1e-6); DICOM's is exact.
                EXPECT_NEAR(a[i].probability, b[i].probability, dir == &nii_dir ? 1e-4 : 1e-6);
            }
        }
    }
    // The U-Net's probability maps on the held-out scans: the same voxels whatever the scans' format.
    for (const auto& s : find_scans(mhd_dir.path("work/split/test"))) {
        const std::string pred = "work/pred_test/" + s.uid + "_prob.mhd";
        const auto a = read_volume<std::uint8_t>(mhd_dir.path(pred));
        EXPECT_EQ(read_volume<std::uint8_t>(nii_dir.path(pred)).voxels, a.voxels) << s.uid;
        EXPECT_EQ(read_volume<std::uint8_t>(dcm_dir.path(pred)).voxels, a.voxels) << s.uid;
    }
}

// With --fpr-scans, the FP reduction's candidates come from some training scans only: its validation patients must be
// among them (a validation scan without candidates would only add nodules nothing could find).
TEST(Pipeline, FprValidationPatientsAreAmongThePredictedScans) {
    test::TempDir dir;
    PipelineOptions o = test::quick_pipeline(dir, 8);  // subsets 4, 5 held out: 6 training scans
    o.fpr_scans = 4;
    o.fpr.set.val_fraction = 0.5;  // more than 4 of 6 can hold: a quarter of the 4 at most, 0.17 of 6 = 1 scan
    // The 1-epoch U-Net paints about 0.5 everywhere: one component that covers every blob. Above that, the
    // candidates are the blobs alone — they must reach the FP reduction's training set.
    o.detect.threshold = 0.99;
    ASSERT_EQ(o.detect.blobs_per_scan, 10);  // the demo's default
    (void)run_pipeline(o);
    const auto blobs = read_results(dir.path("work/candidates_train.csv"));
    EXPECT_GE(blobs.size(), 4u);
    std::map<std::string, int> per_scan;
    for (const auto& c : blobs) ++per_scan[c.seriesuid];
    for (const auto& [uid, n] : per_scan) EXPECT_LE(n, 10) << uid;
    EXPECT_TRUE(std::any_of(blobs.begin(), blobs.end(), [](const Candidate& c) { return c.probability < 0.99; }));
    const CsvTable patches = read_csv(dir.path("work/fpr/patches.csv"), true);
    const std::size_t source = patches.column("source");
    EXPECT_TRUE(std::any_of(patches.rows.begin(), patches.rows.end(), [&](const CsvRow& r) { return r.fields.at(source) == "candidate"; }));
    std::set<std::string> predicted;
    for (const auto& s : find_scans(dir.path("work/split/fpr"))) predicted.insert(s.uid);
    ASSERT_EQ(predicted.size(), 4u);
    EXPECT_EQ(find_predictions(dir.path("work/pred_train")).size(), 4u);
    const auto config = nlohmann::json::parse(read_file(dir.path("work/fpr/config.json")));
    const auto val = config.at("val_uids").get<std::vector<std::string>>();
    EXPECT_EQ(val.size(), 1u);
    for (const auto& u : val) EXPECT_TRUE(predicted.count(u)) << u;
    // And they are the first of the split's order, as validation_uids draws them.
    std::vector<ScanFile> train = find_scans(dir.path("work/split/train"));
    EXPECT_EQ(validation_order(train, o.seed)[0].uid, val.at(0));

    // Candidates from 5 training scans instead of 4: what depends on that choice runs again; the preprocessing, the
    // U-Net and the held-out predictions do not (they once did, the choice being part of the split's key).
    o.fpr_scans = 5;
    const auto more = skipped(run_pipeline(o));
    for (const char* s : {"split", "preprocess", "unet", "predict-test"}) EXPECT_TRUE(more.at(s)) << s;
    for (const char* s : {"split-fpr", "predict-train", "candidates-train", "fpr", "candidates-test", "model", "evaluate"})
        EXPECT_FALSE(more.at(s)) << s;
    EXPECT_EQ(find_scans(dir.path("work/split/fpr")).size(), 5u);
    EXPECT_EQ(find_predictions(dir.path("work/pred_train")).size(), 5u);
}

// --fpr-val-fraction 0: the reduction has no validation patients and learns from every candidate scan (the demo keeps
// its final weights, so validation there was only for the record); the held-out candidates are still rescored.
TEST(Pipeline, FprWithoutValidationPatientsLearnsFromEveryCandidateScan) {
    test::TempDir dir;
    PipelineOptions o = test::quick_pipeline(dir, 8);  // 6 training scans
    o.fpr_scans = 4;
    o.fpr.set.val_fraction = 0;
    o.detect.threshold = 0.99;  // the blobs are the candidates (see the test above)
    (void)run_pipeline(o);
    const auto config = nlohmann::json::parse(read_file(dir.path("work/fpr/config.json")));
    EXPECT_TRUE(config.at("val_uids").empty());
    const auto summary = nlohmann::json::parse(read_file(dir.path("work/fpr/patches.json")));
    EXPECT_EQ(summary.at("val").get<int>(), 0);
    EXPECT_EQ(summary.at("train").get<int>(), summary.at("rows").get<int>());
    const CsvTable patches = read_csv(dir.path("work/fpr/patches.csv"), true);
    const std::size_t uid = patches.column("seriesuid"), split = patches.column("split"), source = patches.column("source");
    std::set<std::string> candidate_scans, centre_scans;
    for (const auto& r : patches.rows) {
        EXPECT_EQ(r.fields.at(split), "train");
        (r.fields.at(source) == "candidate" ? candidate_scans : centre_scans).insert(r.fields.at(uid));
    }
    std::set<std::string> predicted;
    for (const auto& s : find_scans(dir.path("work/split/fpr"))) predicted.insert(s.uid);
    EXPECT_EQ(candidate_scans, predicted);  // every candidate scan's patches, none held back
    // ...and the annotated centres of every training scan, those not predicted included.
    EXPECT_TRUE(std::any_of(centre_scans.begin(), centre_scans.end(), [&](const std::string& u) { return predicted.count(u) == 0; }));
    ASSERT_TRUE(std::filesystem::exists(dir.path("work/fpr/best.pt")));
    EXPECT_EQ(fpr_checkpoint_epoch(dir.path("work/fpr/best.pt")), o.fpr.run.epochs);
    // The held-out candidates carry the reduction's probabilities, not the first stage's.
    const auto first = read_results(dir.path("work/candidates_unet.csv")), after = read_results(dir.path("work/candidates.csv"));
    ASSERT_FALSE(first.empty());
    ASSERT_EQ(first.size(), after.size());
    std::multiset<double> p_first, p_after;
    for (const auto& c : first) p_first.insert(c.probability);
    for (const auto& c : after) p_after.insert(c.probability);
    EXPECT_NE(p_first, p_after);
}

// --combine auto: the best mean validation CPM over the 5 epochs up to best.pt's, not the one epoch (which often
// ties all three rules); ties and no validation keep replace.
TEST(Pipeline, CombinationRuleByMeanValidationCpmOverFiveEpochs) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<FprEpochMetrics> e;
    for (int n = 1; n <= 8; ++n) {
        FprEpochMetrics m;
        m.epoch = n;
        m.cpm_after = 0.6;
        m.cpm_product = n == 7 ? 0.6 : 0.5;  // epoch 7 alone: a three-way tie
        m.cpm_mean = n == 7 ? 0.6 : 0.55;
        e.push_back(m);
    }
    double scores[3];
    EXPECT_EQ(choose_combine_rule(e, 7, scores), FprCombine::Replace);
    EXPECT_DOUBLE_EQ(scores[0], 0.6);
    EXPECT_NEAR(scores[1], (0.5 * 4 + 0.6) / 5, 1e-12);  // epochs 3-7; epoch 8 comes after best.pt
    // Product ahead on average though not at the last epoch.
    for (auto& m : e) m.cpm_product = m.epoch == 7 ? 0.55 : 0.7;
    EXPECT_EQ(choose_combine_rule(e, 7, scores), FprCombine::Product);
    EXPECT_NEAR(scores[1], (0.7 * 4 + 0.55) / 5, 1e-12);
    // Mean beats both; epochs 1-2 count when best.pt is epoch 2.
    for (auto& m : e) m.cpm_mean = m.epoch <= 2 ? 0.9 : 0.1;
    EXPECT_EQ(choose_combine_rule(e, 2, scores), FprCombine::Mean);
    EXPECT_DOUBLE_EQ(scores[2], 0.9);
    // A tie keeps replace; no validation (NaN everywhere) too.
    for (auto& m : e) m.cpm_after = m.cpm_product = m.cpm_mean = 0.4;
    EXPECT_EQ(choose_combine_rule(e, 8), FprCombine::Replace);
    for (auto& m : e) m.cpm_after = m.cpm_product = m.cpm_mean = nan;
    EXPECT_EQ(choose_combine_rule(e, 8, scores), FprCombine::Replace);
    EXPECT_TRUE(std::isnan(scores[0]));
}

TEST(Pipeline, BadSplitsAreClearErrors) {
    test::TempDir dir;
    PipelineOptions o = test::quick_pipeline(dir, 3);
    o.test_subsets = {7};
    test::expect_error([&] { run_pipeline(o); }, {"leaves no test scans"});
    o.test_subsets = {0, 1, 2};
    test::expect_error([&] { run_pipeline(o); }, {"leaves no training scans"});
    o.test_subsets.clear();
    o.folds = 1;
    test::expect_error([&] { run_pipeline(o); }, {"folds must be 0 (one split) or at least 2, got 1"});
    o.folds = 0;
    o.data_dir = dir.path("missing");
    test::expect_error([&] { run_pipeline(o); }, {"missing"});
}

// The ten-fold protocol as independent jobs (issue 18): each fold's job alone, then --merge, gives the CPM and the
// submission of one run over all folds; merging before every fold has finished names the missing ones.
TEST(Pipeline, FoldsAsSeparateJobsGiveTheResultOfOneRun) {
    test::TempDir dir;
    PipelineOptions o = test::quick_pipeline(dir, 6);  // subsets 0-5: fold 0 tests 0, 2, 4 and fold 1 tests 1, 3, 5
    o.folds = 2;
    const PipelineSummary whole = run_pipeline(o);
    PipelineOptions job = o;
    job.work_dir = dir.path("jobs");
    job.merge = true;
    test::expect_error([&] { run_pipeline(job); }, {"folds 0, 1 of 2 not finished, nothing merged", "fold 0: split has not finished", "--folds 2 --fold 0"});
    job.merge = false;
    job.fold = 1;
    const PipelineSummary one = run_pipeline(job);
    EXPECT_EQ(one.fold, 1);
    EXPECT_EQ(one.test_scans, 3);
    EXPECT_TRUE(fs::exists(dir.path("jobs/fold1/candidates.csv")));
    EXPECT_FALSE(fs::exists(dir.path("jobs/fold0/candidates.csv")));
    EXPECT_FALSE(fs::exists(dir.path("jobs/submission.csv")));
    job.fold = -1;
    job.merge = true;
    test::expect_error([&] { run_pipeline(job); }, {"fold 0 of 2 not finished", "--fold 0`"});
    job.merge = false;
    job.fold = 0;
    run_pipeline(job);
    job.fold = -1;
    job.merge = true;
    const PipelineSummary merged = run_pipeline(job);
    EXPECT_EQ(merged.test_scans, 6);
    EXPECT_DOUBLE_EQ(merged.cpm, whole.cpm);
    EXPECT_DOUBLE_EQ(merged.cpm_unet, whole.cpm_unet);
    EXPECT_EQ(read_file(dir.path("jobs/submission.csv")), read_file(dir.path("work/submission.csv")));
    EXPECT_EQ(read_file(dir.path("jobs/eval/froc.csv")), read_file(dir.path("work/eval/froc.csv")));
    // Bad combinations are option errors before any work.
    job.merge = false;
    job.fold = 2;
    test::expect_error([&] { run_pipeline(job); }, {"fold must be below --folds 2, got 2"});
    job.fold = 0;
    job.merge = true;
    test::expect_error([&] { run_pipeline(job); }, {"merge and --fold exclude each other"});
    job.merge = false;
    job.folds = 0;
    test::expect_error([&] { run_pipeline(job); }, {"fold needs --folds N (N >= 2)"});
}

// The demo's reduction keeps its final weights and validates once, after its last epoch (on no patients since
// 2026-12-06); run's keeps the best validated epoch; --fpr-keep best-validation brings back validation from the
// second half of the epochs.
TEST(Recipes, TheDemosReductionKeepsItsFinalWeightsAndLearnsFromAllItsScans) {
    CohortOptions cohort;
    PipelineOptions demo = demo_pipeline_options(DemoSize::Cpu, cohort);
    EXPECT_EQ(demo.fpr.run.keep, KeepWeights::Final);
    EXPECT_EQ(demo.fpr.run.epochs, 30);
    EXPECT_EQ(demo.fpr.run.validate_from, 30);
    EXPECT_EQ(cpu_pipeline_defaults().fpr.run.keep, KeepWeights::BestValidation);
    set_fpr_keep(demo, KeepWeights::BestValidation);
    EXPECT_EQ(demo.fpr.run.keep, KeepWeights::BestValidation);
    EXPECT_EQ(demo.fpr.run.validate_from, 16);
    set_fpr_keep(demo, KeepWeights::Final);
    EXPECT_EQ(demo.fpr.run.validate_from, 30);
    // ...and, keeping its final weights, it has no validation patients: all its candidate scans teach it. The quick
    // and CUDA recipes keep run's share.
    EXPECT_EQ(demo.fpr.set.val_fraction, 0.0);
    EXPECT_EQ(choose_fpr_scans(std::vector<ScanFile>(80), demo.fpr_scans, demo.fpr.set.val_fraction, 0).val_fraction, 0.0);
    CohortOptions other;
    EXPECT_EQ(demo_pipeline_options(DemoSize::Quick, other).fpr.set.val_fraction, cpu_pipeline_defaults().fpr.set.val_fraction);
    EXPECT_EQ(demo_pipeline_options(DemoSize::Cuda, other).fpr.set.val_fraction, cpu_pipeline_defaults().fpr.set.val_fraction);
    EXPECT_GT(cpu_pipeline_defaults().fpr.set.val_fraction, 0.0);
}

// The U-Net's validation patients (demo --unet-val-fraction): with none there is nothing to choose an epoch by, so it
// keeps its final weights; with some it keeps the best validated epoch, as the demo does by default.
TEST(Recipes, AUNetWithoutValidationPatientsKeepsItsFinalWeights) {
    CohortOptions cohort;
    PipelineOptions demo = demo_pipeline_options(DemoSize::Cpu, cohort);
    EXPECT_EQ(demo.prep.val_fraction, 0.08);
    EXPECT_EQ(demo.unet.run.keep, KeepWeights::BestValidation);
    set_unet_val_fraction(demo, 0.2);
    EXPECT_EQ(demo.prep.val_fraction, 0.2);
    EXPECT_EQ(demo.unet.run.keep, KeepWeights::BestValidation);
    set_unet_val_fraction(demo, 0);
    EXPECT_EQ(demo.prep.val_fraction, 0.0);
    EXPECT_EQ(demo.unet.run.keep, KeepWeights::Final);
    PipelineOptions quick = demo_pipeline_options(DemoSize::Quick, cohort);
    set_unet_val_fraction(quick, 0);
    EXPECT_GT(quick.fpr.set.val_fraction, 0.0);  // the reduction's validation patients are its own
}

// A finer U-Net grid keeps the slices' field of view: 320 px at 1.0 mm become 400 at 0.8 (and 368 at 0.9, 355.6 rounded
// up to a multiple of 16); the training crops keep their pixels. Without a pixel size the field is 360 mm.
TEST(Recipes, AFinerUNetPixelKeepsTheFieldOfView) {
    CohortOptions cohort;
    PipelineOptions demo = demo_pipeline_options(DemoSize::Cpu, cohort);
    EXPECT_EQ(demo.prep.size, 320);
    EXPECT_EQ(demo.prep.pixel_mm, 1.0);
    const int crop = demo.unet.crop;
    set_unet_pixel_mm(demo, 0.8);
    EXPECT_EQ(demo.prep.size, 400);
    EXPECT_EQ(demo.prep.pixel_mm, 0.8);
    EXPECT_EQ(demo.unet.crop, crop);
    PipelineOptions other = demo_pipeline_options(DemoSize::Cpu, cohort);
    set_unet_pixel_mm(other, 0.9);
    EXPECT_EQ(other.prep.size, 368);
    EXPECT_GE(other.prep.size * other.prep.pixel_mm, 320.0);
    PipelineOptions unset;
    unset.prep.size = 512;
    unset.prep.pixel_mm = 0;
    set_unet_pixel_mm(unset, 1.5);
    EXPECT_EQ(unset.prep.size, 240);
}

// The demo's reduction cuts its cubes at 0.8 mm (measured on four tuning folders, docs/model.md), run's and the quick
// demo's at 1.0; the cubes keep their voxels either way.
TEST(Recipes, TheDemosReductionCutsItsCubesAtEightTenthsOfAMillimetre) {
    CohortOptions cohort;
    const PipelineOptions demo = demo_pipeline_options(DemoSize::Cpu, cohort);
    const PipelineOptions run = cpu_pipeline_defaults();
    EXPECT_EQ(demo.fpr.set.patch.patch_mm, 0.8);
    EXPECT_EQ(run.fpr.set.patch.patch_mm, 1.0);
    EXPECT_EQ(demo.fpr.set.patch.patch, run.fpr.set.patch.patch);
    EXPECT_EQ(demo_pipeline_options(DemoSize::Quick, cohort).fpr.set.patch.patch_mm, 1.0);
}

// The demo's U-Net learns nodules under 6 mm as 6-mm balls (measured on four tuning seeds, docs/model.md); run's, the
// quick demo's and the CUDA demo's targets keep the annotated diameters.
TEST(Recipes, TheDemosUNetLearnsSmallNodulesAsSixMillimetreBalls) {
    CohortOptions cohort;
    EXPECT_EQ(demo_pipeline_options(DemoSize::Cpu, cohort).prep.mask_min_diameter_mm, 6.0);
    EXPECT_EQ(cpu_pipeline_defaults().prep.mask_min_diameter_mm, 0.0);
    EXPECT_EQ(demo_pipeline_options(DemoSize::Quick, cohort).prep.mask_min_diameter_mm, 0.0);
    EXPECT_EQ(demo_pipeline_options(DemoSize::Cuda, cohort).prep.mask_min_diameter_mm, 0.0);
}

// The CUDA recipe (issue 16: "uses the 3D stage at full size"): both detectors, the 3D one larger and on a finer grid
// than the 2-core recipe's, with options a run accepts; its network builds and maps one training patch to a heatmap
// and a size map of the patch's shape.
TEST(Recipes, CudaDemoRunsBothDetectorsWithTheFullSize3dNetwork) {
    CohortOptions cohort;
    const PipelineOptions gpu = demo_pipeline_options(DemoSize::Cuda, cohort);
    const PipelineOptions cpu = cpu_pipeline_defaults();
    EXPECT_EQ(cohort.preset, Preset::Full);
    EXPECT_EQ(gpu.detector, Detector::Pooled);
    EXPECT_TRUE(uses_unet(gpu.detector) && uses_detector3d(gpu.detector));
    EXPECT_LT(gpu.grid3d.spacing_mm, cpu.grid3d.spacing_mm);
    EXPECT_GT(gpu.det3d.net.base_filters, cpu.det3d.net.base_filters);
    EXPECT_GT(gpu.det3d.patch * gpu.grid3d.spacing_mm, cpu.det3d.patch * cpu.grid3d.spacing_mm);  // more context in mm
    EXPECT_GT(gpu.det3d.run.epochs * gpu.det3d.epoch_samples, cpu.det3d.run.epochs * cpu.det3d.epoch_samples);
    EXPECT_NO_THROW(gpu.det3d.check());
    EXPECT_NO_THROW(gpu.peaks.check());
    // run's CPU recipe: the 3D detector, when chosen, averages four mirrored passes; the CPU demo runs the seed's
    // U-Net (neither the pool nor the four-pass 3D detector fits its 15 minutes), and so does the quick demo.
    EXPECT_EQ(cpu.detector3d_flips, 4);
    CohortOptions cpu_cohort;
    EXPECT_EQ(demo_pipeline_options(DemoSize::Cpu, cpu_cohort).detector, Detector::UNet2d);
    EXPECT_EQ(demo_pipeline_options(DemoSize::Quick, cpu_cohort).detector, Detector::UNet2d);

    torch::NoGradGuard no_grad;
    Detector3d net(gpu.det3d.net);
    const std::int64_t p = gpu.det3d.patch;
    EXPECT_EQ(net->forward(torch::zeros({1, 1, p, p, p})).sizes(), (std::vector<std::int64_t>{1, 2, p, p, p}));
}

}  // namespace
}  // namespace nodulecad
