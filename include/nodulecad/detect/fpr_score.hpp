#pragma once
// `detect --fpr MODEL`: each candidate's probability from the false-positive-reduction network, combined with the
// candidate's own (U-Net) probability by a documented rule. Plain interface; the implementation is a torch
// translation unit (built only with LibTorch).
#include <memory>
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
    int symmetries = 0;  // mean over this many of the cube's maps (1-16, cube_symmetry); 0 = as validated (model card)
    int threads = 1;
};

// Rewrites every candidate's probability in place (order and other columns unchanged). Scans are read one at a
// time. Error for a candidate whose scan is not under `data`.
void apply_fpr(std::vector<Candidate>& candidates, const FprApplyOptions& opts);

// The network loaded once for many scans (what apply_fpr and `infer` run; opts.data is not used).
class FprScorer {
public:
    explicit FprScorer(const FprApplyOptions& opts);
    ~FprScorer();
    FprScorer(const FprScorer&) = delete;
    FprScorer& operator=(const FprScorer&) = delete;
    // Rewrites the probability of the candidates at `idx` (all of `scan`'s) in place, as apply_fpr does.
    void rescore(std::vector<Candidate>& candidates, const std::vector<std::size_t>& idx, const Volume<std::int16_t>& scan) const;
    int symmetries() const;  // the turns/mirrors averaged (opts', or the model card's)
    // Seconds spent in the network so far, with the making of its inputs (the cubes' turns and scales) and its
    // probabilities back on the CPU; cutting the cubes from the scan is not in it.
    double network_seconds() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace nodulecad
