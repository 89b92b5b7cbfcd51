#pragma once
// The false-positive-reduction network's shape and model card. Plain C++: the CLI reads cards without torch.
#include <cstdint>
#include <string>

#include "preprocess/fpr_patches.hpp"  // PatchOptions

namespace nodulecad {

struct FprNetConfig {
    int width = 16;  // filters of the first level; 2x and 4x at the next two
    double dropout = 0.3;
};

// Parameters of the network for a given width (tests check the module against it).
std::int64_t fpr_parameter_count(const FprNetConfig& c, int in_channels_per_view = 3);

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
