#pragma once
// `detect --fpr MODEL`: each candidate's probability from the false-positive-reduction network, combined with the
// candidate's own (U-Net) probability by a documented rule. Plain interface; the implementation is a torch
// translation unit (built only with LibTorch).
#include <string>
#include <vector>

#include "core/error.hpp"
#include "io/tables.hpp"

namespace nodulecad {

// replace: p = p_fpr (default; the network saw the candidate, the U-Net's maximum is often saturated at 1)
// product: p = p_unet * p_fpr (both must agree)
// mean:    p = (p_unet + p_fpr) / 2
enum class FprCombine { Replace, Product, Mean };
inline FprCombine parse_fpr_combine(const std::string& name) {
    if (name == "replace") return FprCombine::Replace;
    if (name == "product") return FprCombine::Product;
    if (name == "mean") return FprCombine::Mean;
    throw Error("--combine must be replace, product or mean, not '" + name + "'");
}
inline double combine_probability(double unet, double fpr, FprCombine rule) {
    switch (rule) {
        case FprCombine::Product: return unet * fpr;
        case FprCombine::Mean: return (unet + fpr) / 2;
        case FprCombine::Replace: break;
    }
    return fpr;
}

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
