#pragma once
// The false-positive-reduction network's shape and model card. Plain C++: the CLI reads cards without torch.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "nodulecad/core/enum_names.hpp"
#include "nodulecad/preprocess/fpr_patches.hpp"  // PatchOptions, kCubeSymmetries

namespace nodulecad {

// What the network sees of a candidate's cube (preprocess/fpr_patches.hpp):
//   2.5d: the axial, coronal and sagittal planes, 3 each (9 channels of patch x patch), one 2D trunk for the views;
//   3d:   the patch^3 cube itself, at two scales of context (the LUNA16 FP-reduction track's multi-level idea):
//         its central (patch/2)^3 at the cube's voxel size and the whole cube averaged 2x2x2 to (patch/2)^3, each
//         through its own 3D trunk.
enum class FprArch { Views25d, Cube3d };
inline constexpr EnumName<FprArch> kFprArchNames[] = {{FprArch::Views25d, "2.5d"}, {FprArch::Cube3d, "3d"}};

struct FprNetConfig {
    FprArch arch = FprArch::Views25d;
    int width = 16;  // filters of the first level; 2x and 4x at the next two
    double dropout = 0.3;

    void check() const;  // OptionError for a network that cannot be built
    // OptionError when the patch cannot feed this network (3d: patch divisible by 4 and at least 16, so each scale
    // is a whole (patch/2)^3 that three 2x poolings reduce to at least one voxel).
    void check_patch(const PatchOptions& patch) const;
};
void to_json(nlohmann::json& j, const FprNetConfig& c);
void from_json(const nlohmann::json& j, FprNetConfig& c);

// Parameters of the network for a given width and arch (tests check the module against it).
std::int64_t fpr_parameter_count(const FprNetConfig& c);

// The network's input for one cube (patch.cube()^3 bytes) under an augmentation: fpr_input_floats(c, patch)
// floats in [0, 1] (2.5d: cube_views; 3d: cube_crop), and the shape of a batch of n of them.
std::size_t fpr_input_floats(const FprNetConfig& c, const PatchOptions& patch);
std::vector<std::int64_t> fpr_batch_shape(const FprNetConfig& c, const PatchOptions& patch, std::int64_t n);
void fpr_input(const FprNetConfig& c, const std::uint8_t* cube, const PatchOptions& patch, const Augment& aug, float* out);

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
