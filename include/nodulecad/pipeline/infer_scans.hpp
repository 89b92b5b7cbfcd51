#pragma once
// `nodulecad infer`: a trained model bundle (pipeline/model_bundle.hpp) applied to new scans — no annotations, no
// training. Per scan: lungs -> U-Net probability volume -> candidates (+ blobs) and/or the 3D detector's heatmap
// peaks -> FP reduction, exactly as the pipeline does for its held-out scans. Outputs:
//   OUT/candidates.csv   seriesuid,coordX,coordY,coordZ,probability,diameter_mm (scans in uid order, each by probability)
//   OUT/submission.csv   the five LUNA16 columns
//   OUT/scans/<uid>.csv  each scan's candidates, written as it finishes: a re-run skips the scans that have one
// A scan that cannot be read or processed is named and skipped; the others still finish and the tables hold them.
// Sharded (`--shard K/N`, or the rank of a torchrun/Slurm launch): shard K processes scans K, K + N, ... of the
// uid order into OUT/scans/, and the tables are written once every scan has its result — by whichever shard
// finishes last, or by a run without a shard, which processes nothing more. Either way they are byte-identical to
// one unsharded run's (docs/distributed.md).
#include <cstdint>
#include <string>
#include <vector>

#include "nodulecad/core/launch.hpp"

namespace nodulecad {

struct InferOptions {
    std::string model;  // a model bundle folder (WORK/model) or its model.json
    std::string data;   // a cohort folder (any layout find_scans knows) or one scan file
    std::string out;    // OUT
    std::string device = "auto";
    int threads = 1;
    Shard shard;        // all scans unless given
};

// Where the time went: seconds of each step, summed over the scans processed now (none for reused ones; a scan that
// failed adds the steps it finished). `nodulecad infer` prints them per scan, so a run on a new machine shows what
// bounds it (on a GPU, the CPU's steps). Each step ends with its results on the CPU, so GPU work is inside it.
struct InferTimes {
    double load = 0;        // loading the networks (once a run, and only when a scan needs them)
    double read = 0;        // reading the scans
    double lungs = 0;       // lung segmentation
    double unet = 0;        // the U-Net's probability volume
    double candidates = 0;  // its candidates (components and blobs)
    double detector3d = 0;  // the 3D detector: grid, passes, peaks (and blobs)
    double fpr = 0;         // the false-positive reduction
    // Of the three above, the seconds in each network (network_seconds() of ScanPredictor, Detector3dRunner and
    // FprScorer): the rest of each step is CPU work around it.
    double unet_network = 0, detector3d_network = 0, fpr_network = 0;
};

struct InferSummary {
    int scans = 0;      // found under data
    int in_shard = 0;   // this shard's (all of them unsharded)
    bool tables = true; // candidates.csv and submission.csv written: every scan has its result (a shard's run may not)
    int done = 0;       // processed now
    int reused = 0;     // finished by an earlier run (OUT/scans/<uid>.csv)
    std::vector<std::string> failures;  // "<path>: <why>" per scan that could not be processed
    std::int64_t candidates = 0;
    std::string candidates_file, submission;
    InferTimes times;
};

InferSummary infer_scans(const InferOptions& opts);

}  // namespace nodulecad
