#include <algorithm>
#include <nlohmann/json.hpp>

#include "nodulecad/core/error.hpp"
#include "nodulecad/train/train_detector3d.hpp"

namespace nodulecad {

void Detector3dTrainOptions::check() const {
    run.check();
    net.check();
    const int step = 1 << (net.depth - 1);
    if (patch < step || patch % step != 0 || patch > 256)
        throw OptionError("patch", "must be a multiple of 2^(depth-1) = " + std::to_string(step) + " up to 256, got " + std::to_string(patch));
    require_positive("epoch_samples", epoch_samples);
    if (!(nodule_fraction >= 0 && hard_fraction >= 0 && nodule_fraction + hard_fraction <= 1))
        throw OptionError("nodule_fraction", "and hard_fraction must be >= 0 with a sum of at most 1");
    require_between("hard_mining_patches", hard_mining_patches, 0, 100000);
    if (!(scale_augment >= 0 && scale_augment <= 1)) throw OptionError("scale_augment", "must be in [0, 1], got " + std::to_string(scale_augment));
    if (!(contrast_augment >= 0 && contrast_augment <= 0.5))
        throw OptionError("contrast_augment", "must be in [0, 0.5], got " + std::to_string(contrast_augment));
}

void to_json(nlohmann::json& j, const Detector3dTrainOptions& o) {
    j = {{"filters", o.net.base_filters},         {"depth", o.net.depth},
         {"batch_norm", o.net.batch_norm},        {"patch", o.patch},
         {"epoch_samples", o.epoch_samples},      {"nodule_fraction", o.nodule_fraction},
         {"hard_fraction", o.hard_fraction},      {"hard_mining_patches", o.hard_mining_patches},
         {"augment", o.augment},                  {"focal_alpha", o.loss.alpha},
         {"focal_beta", o.loss.beta},             {"size_weight", o.loss.size_weight}};
    // Only when not the heatmap: the options of heatmap runs, and so their stage keys, stay what they were.
    if (o.head != Detector3dHead::Heatmap) j["head"] = enum_name(o.head, kDetector3dHeadNames);
    if (o.nodule_mining) j["nodule_mining"] = true;  // likewise
    if (o.scale_augment > 0) j["scale_augment"] = o.scale_augment;
    if (o.contrast_augment > 0) j["contrast_augment"] = o.contrast_augment;
    if (o.net.input != Detector3dInput::Lung) j["input"] = enum_name(o.net.input, kDetector3dInputNames);
}

void from_json(const nlohmann::json& j, Detector3dTrainOptions& o) {
    o.net.base_filters = j.value("filters", o.net.base_filters);
    o.net.depth = j.value("depth", o.net.depth);
    o.net.batch_norm = j.value("batch_norm", o.net.batch_norm);
    o.patch = j.value("patch", o.patch);
    o.epoch_samples = j.value("epoch_samples", o.epoch_samples);
    o.nodule_fraction = j.value("nodule_fraction", o.nodule_fraction);
    o.hard_fraction = j.value("hard_fraction", o.hard_fraction);
    o.hard_mining_patches = j.value("hard_mining_patches", o.hard_mining_patches);
    o.augment = j.value("augment", o.augment);
    o.nodule_mining = j.value("nodule_mining", o.nodule_mining);
    o.scale_augment = j.value("scale_augment", o.scale_augment);
    o.contrast_augment = j.value("contrast_augment", o.contrast_augment);
    o.loss.alpha = j.value("focal_alpha", o.loss.alpha);
    o.loss.beta = j.value("focal_beta", o.loss.beta);
    o.loss.size_weight = j.value("size_weight", o.loss.size_weight);
    if (j.contains("input")) o.net.input = parse_enum("input", j.at("input").get<std::string>(), kDetector3dInputNames);
    if (j.contains("head")) o.head = parse_enum("head", j.at("head").get<std::string>(), kDetector3dHeadNames);
}

double heatmap_sigma_voxels(double diameter_mm, double spacing_mm) { return std::max(1.0, 0.25 * diameter_mm / spacing_mm); }

}  // namespace nodulecad
