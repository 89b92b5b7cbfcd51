#pragma once
// `nodulecad infer`: a trained model bundle (pipeline/model_bundle.hpp) applied to new scans — no annotations, no
// training. Per scan: lungs -> U-Net probability volume -> candidates (+ blobs) and/or the 3D detector's heatmap
// peaks -> FP reduction, exactly as the pipeline does for its held-out scans. Outputs:
//   OUT/candidates.csv   seriesuid,coordX,coordY,coordZ,probability,diameter_mm (scans in uid order, each by probability)
//   OUT/submission.csv   the five LUNA16 columns
//   OUT/scans/<uid>.csv  each scan's candidates, written as it finishes: a re-run skips the scans that have one
// A scan that cannot be read or processed is named and skipped; the others still finish and the tables hold them.
#include <cstdint>
#include <string>
#include <vector>

namespace nodulecad {

struct InferOptions {
    std::string model;  // a model bundle folder (WORK/model) or its model.json
    std::string data;   // a cohort folder (any layout find_scans knows) or one scan file
    std::string out;    // OUT
    std::string device = "auto";
    int threads = 1;
};

struct InferSummary {
    int scans = 0;      // found under data
    int done = 0;       // processed now
    int reused = 0;     // finished by an earlier run (OUT/scans/<uid>.csv)
    std::vector<std::string> failures;  // "<path>: <why>" per scan that could not be processed
    std::int64_t candidates = 0;
    std::string candidates_file, submission;
};

InferSummary infer_scans(const InferOptions& opts);

}  // namespace nodulecad
