#pragma once
// The whole job on a cohort laid out like LUNA16, stage by stage, resumable:
//   split -> preprocess -> U-Net -> predict (training scans) -> candidates -> FP reduction
//         -> predict (test scans) -> candidates + reduction -> evaluate (before / after) -> report
// One folder per stage under WORK; a stage whose outputs exist with the same inputs is skipped, and everything
// after a stage that ran is redone. Plain C++; built with the deep-learning stages (it calls them).
#include <cstdint>
#include <string>
#include <vector>

#include "detect/candidates.hpp"
#include "detect/fpr_score.hpp"
#include "preprocess/dataset.hpp"
#include "synth/cohort.hpp"
#include "train/train.hpp"
#include "train/train_fpr.hpp"

namespace nodulecad {

struct PipelineOptions {
    std::string data_dir;            // subset*/<uid>.mhd, annotations.csv, optional annotations_excluded.csv
    std::string work_dir;            // WORK
    std::string annotations, excluded;  // defaults: DATA/annotations.csv, DATA/annotations_excluded.csv (if present)
    std::vector<int> test_subsets;   // held-out LUNA16 subsets (one split); empty with folds = 0: a seeded fraction
    double test_fraction = 0.25;     // when there are neither test subsets nor folds
    int folds = 0;                   // > 1: cross-validation by subset (fold f tests the subsets with s % folds == f)
    DatasetOptions prep;             // data/out/val set by the pipeline
    TrainOptions unet;               // data/run set by the pipeline
    DetectOptions detect;
    FprTrainOptions fpr;             // set/out set by the pipeline
    FprCombine combine = FprCombine::Replace;
    // Choose the combination rule by the FP reduction's validation CPM (its own held-out training patients; see
    // choose_combine_rule) instead of `combine`.
    bool combine_auto = true;
    int fpr_scans = 0;               // predict at most this many training scans for FPR candidates (0 = all)
    int bootstrap = 1000;
    std::string device = "auto";
    int threads = 1;
    std::uint64_t seed = 0;
    int gallery = 4;                 // report pictures per kind
};

struct StageTime {
    std::string name;
    double seconds = 0;
    bool skipped = false;
};

struct PipelineSummary {
    double cpm = 0, cpm_unet = 0;    // held-out CPM after / before false-positive reduction (U-Net and blob candidates)
    int test_scans = 0;
    std::int64_t nodules = 0, detected = 0;
    std::string report, submission;
    std::string combine;             // the rule used (of the first split when there are folds)
    std::vector<StageTime> stages;
};

// The combination rule `combine_auto` uses: the best mean validation CPM (replace, product, mean) over the
// kCombineEpochs epochs up to the one of FPR/best.pt — a CPM over a few validation patients moves in steps, and one
// epoch often ties all three. Ties and missing validation keep replace. `scores` (3, optional) gets the means.
constexpr int kCombineEpochs = 5;
FprCombine choose_combine_rule(const std::vector<FprEpochMetrics>& epochs, int best_epoch, double* scores = nullptr);

// The defaults `run` and `demo` use on a 2-core CPU (see docs/pipeline.md for how they were chosen).
PipelineOptions cpu_pipeline_defaults();

// `demo`'s configurations and the synthetic cohort each runs on: Quick (6 small scans, 1 epoch: the machinery in
// a minute, for tests), Cpu (100 demo-preset scans, 20 held out: under 15 minutes on 2 cores), Cuda (100 full-size
// scans, the seed's 32-filter U-Net on 512 px slices).
enum class DemoSize { Quick, Cpu, Cuda };
PipelineOptions demo_pipeline_options(DemoSize size, CohortOptions& cohort);

PipelineSummary run_pipeline(const PipelineOptions& opts);

}  // namespace nodulecad
