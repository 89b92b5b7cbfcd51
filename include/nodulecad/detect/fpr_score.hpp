#pragma once
// `detect --fpr MODEL`: each candidate's probability from the false-positive-reduction network, combined with the
// candidate's own (U-Net) probability by a documented rule. Plain interface; the implementation is a torch
// translation unit (built only with LibTorch).
#include <string>
#include <vector>

#include "nodulecad/io/tables.hpp"
#include "nodulecad/model/fpr_config.hpp"

namespace nodulecad {

struct FprApplyOptions {
    std::string model;   // FPR/best.pt from train-fpr
    std::string data;    // the cohort holding the candidates' scans
    FprCombine combine = FprCombine::Replace;
    std::string device = "auto";
    int batch = 64;
    int symmetries = 0;  // mean over this many turns/mirrors of the axial plane (1-8); 0 = as validated (model card)
    int threads = 1;
};

// Rewrites every candidate's probability in place (order and other columns unchanged). Scans are read one at a
// time. Error for a candidate whose scan is not under `data`.
void apply_fpr(std::vector<Candidate>& candidates, const FprApplyOptions& opts);

}  // namespace nodulecad
