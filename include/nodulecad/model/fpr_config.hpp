#pragma once
// The false-positive-reduction network's shape and model card. Plain C++: the CLI reads cards without torch.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "nodulecad/core/enum_names.hpp"
#include "nodulecad/preprocess/fpr_patches.hpp"  // PatchOptions

namespace nodulecad {

struct FprNetConfig {
    int width = 16;  // filters of the first level; 2x and 4x at the next two
    double dropout = 0.3;

    void check() const;  // OptionError for a network that cannot be built
};
void to_json(nlohmann::json& j, const FprNetConfig& c);
void from_json(const nlohmann::json& j, FprNetConfig& c);

// Parameters of the network for a given width (tests check the module against it).
std::int64_t fpr_parameter_count(const FprNetConfig& c, int in_channels_per_view = 3);

// How the network's probability p_fpr is combined with a candidate's first-stage (U-Net) probability p_unet:
//   replace: p = p_fpr (the network saw the candidate; the U-Net's maximum is often saturated at 1)
//   product: p = p_unet * p_fpr (both must agree)
//   mean:    p = (p_unet + p_fpr) / 2
enum class FprCombine { Replace, Product, Mean };
inline constexpr EnumName<FprCombine> kFprCombineNames[] = {{FprCombine::Replace, "replace"}, {FprCombine::Product, "product"}, {FprCombine::Mean, "mean"}};
inline double combine_probability(double unet, double fpr, FprCombine rule) {
    switch (rule) {
        case FprCombine::Product: return unet * fpr;
        case FprCombine::Mean: return (unet + fpr) / 2;
        case FprCombine::Replace: break;
    }
    return fpr;
}

struct FprCard {
    FprNetConfig net;
    PatchOptions patch;  // how candidates must be cut for this network
    int epoch = 0;
    double best_val_auc = -1;
    int symmetries = 1;  // turns/mirrors averaged at validation, and so by default when scoring (fpr_probabilities)
    std::int64_t train_positives = 0, train_negatives = 0;

    std::string to_json() const;  // {"kind": "fpr", ...}
    static FprCard from_json(const std::string& text, const std::string& source);
};

}  // namespace nodulecad
