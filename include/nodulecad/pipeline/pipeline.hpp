#pragma once
// The whole job on a cohort laid out like LUNA16, stage by stage, resumable:
//   split -> preprocess -> U-Net -> predict (training scans) -> candidates -> FP reduction
//         -> predict (test scans) -> candidates + reduction -> evaluate (before / after) -> report
// (heatmap3d: grid3d -> 3D detector in place of preprocess, U-Net and predict; unet2d+heatmap3d: both, their
// candidates pooled.)
// One folder per stage under WORK; a stage whose outputs exist with the same inputs is skipped, and everything
// after a stage that ran is redone (pipeline/stage_runner.hpp). Recipes: pipeline/recipes.hpp; how the cohort is
// split: pipeline/splits.hpp. Plain C++ interface; run_pipeline is built with the deep-learning stages (it calls
// them).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nodulecad/detect/candidates.hpp"
#include "nodulecad/evaluate/mark_budget.hpp"
#include "nodulecad/model/fpr_config.hpp"
#include "nodulecad/pipeline/model_bundle.hpp"
#include "nodulecad/pipeline/stage_runner.hpp"
#include "nodulecad/preprocess/dataset.hpp"
#include "nodulecad/train/train_detector3d.hpp"
#include "nodulecad/train/train_fpr.hpp"
#include "nodulecad/train/train_unet.hpp"

namespace nodulecad {

struct PipelineOptions {
    std::string data_dir;            // subset*/<uid>.mhd, annotations.csv, optional annotations_excluded.csv
    std::string work_dir;            // WORK
    std::string annotations, excluded;  // defaults: DATA/annotations.csv, DATA/annotations_excluded.csv (if present)
    std::vector<int> test_subsets;   // held-out LUNA16 subsets (one split); empty with folds = 0: a seeded fraction
    double test_fraction = 0.25;     // when there are neither test subsets nor folds
    int folds = 0;                   // > 1: cross-validation by subset (fold f tests the subsets with s % folds == f)
    // With folds, the folds as independent jobs (a Slurm array; docs/distributed.md): `fold` >= 0 runs that fold's
    // stages alone (no evaluation); `merge` evaluates and reports the folds together, each of which must have
    // finished (an Error names those that have not). Both leave the results one run over all folds gives.
    int fold = -1;
    bool merge = false;
    DatasetOptions prep;             // data/out/val set by the pipeline
    Detector detector = Detector::UNet2d;  // the first stage (docs/model.md)
    TrainOptions unet;               // unet2d; data and run folder, device and seed set by the pipeline
    Grid3dOptions grid3d;            // heatmap3d (alone or pooled): the millimetre grid
    Detector3dTrainOptions det3d;    // heatmap3d; data and run folder, device and seed set by the pipeline
    PeakOptions peaks;               // heatmap3d: heatmap peaks -> candidates
    int detector3d_flips = 1;        // heatmap3d: test-time mirrored passes averaged (1-8; Detector3dRunOptions)
    DetectOptions detect;
    FprTrainOptions fpr;             // inputs and run folder, device and seed set by the pipeline
    // How the FP reduction's probability is used; empty: chosen by the reduction's validation (choose_combine_rule).
    std::optional<FprCombine> combine;
    int fpr_scans = 0;               // predict at most this many training scans for FPR candidates (0 = all)
    int bootstrap = 1000;
    std::string device = "auto";
    int threads = 1;                 // workers for the per-scan stages (LibTorch's own threads are the caller's)
    std::uint64_t seed = 0;
    int gallery = 4;                 // report pictures per kind
};

struct PipelineSummary {
    double cpm = 0, cpm_unet = 0;    // held-out CPM after / before false-positive reduction (U-Net and blob candidates)
    int test_scans = 0;
    int fold = -1;                   // the one fold run (PipelineOptions::fold): no evaluation, no CPM
    std::int64_t nodules = 0, detected = 0;
    std::vector<MarkBudgetYield> before_reduction_within;  // nodules within each scan's first K candidates, before it
    std::string report, submission;
    std::string combine;             // the rule used (of the first split when there are folds)
    std::vector<StageTime> stages;
};

// The combination rule the pipeline chooses when none is given: the best mean validation CPM (replace, product,
// mean) over the kCombineEpochs epochs up to the one of FPR/best.pt — a CPM over a few validation patients moves in
// steps, and one epoch often ties all three. Ties and missing validation keep replace. `scores` (3, optional) gets
// the means.
constexpr int kCombineEpochs = 5;
FprCombine choose_combine_rule(const std::vector<FprEpochMetrics>& epochs, int best_epoch, double* scores = nullptr);

PipelineSummary run_pipeline(const PipelineOptions& opts);

}  // namespace nodulecad
