// The U-Net trainer's options: checks and JSON (plain C++, so tools without LibTorch read and write them too).
#include <nlohmann/json.hpp>

#include "nodulecad/core/error.hpp"
#include "nodulecad/train/resume_options.hpp"
#include "nodulecad/train/train_unet.hpp"

namespace nodulecad {

using json = nlohmann::json;

void TrainOptions::check() const {
    run.check();
    unet.check();
    require_non_negative("epoch_samples", epoch_samples);
    require_non_negative("max_samples_per_epoch", max_samples_per_epoch);
    require_non_negative("crop", crop);
    if (nodule_mining && sampling != Sampling::Nodules) throw OptionError("nodule_mining", "needs nodules sampling");
    if (!(scale_augment >= 0 && scale_augment < 0.5)) throw OptionError("scale_augment", "must be in [0, 0.5), got " + shown(scale_augment));
}

void to_json(json& j, const TrainOptions& o) {
    j = {{"filters", o.unet.base_filters},
         {"depth", o.unet.depth},
         {"batch_norm", o.unet.batch_norm},
         {"loss", enum_name(o.loss, kUNetLossNames)},
         {"augment", o.augment},
         {"scale_augment", o.scale_augment},
         {"crop", o.crop},
         {"max_samples_per_epoch", o.max_samples_per_epoch},
         {"epoch_samples", o.epoch_samples},
         {"sampling", enum_name(o.sampling, kSamplingNames)}};
    if (o.nodule_mining) j["nodule_mining"] = true;  // only then: the stage keys and cards of earlier runs stay valid
}

void from_json(const json& j, TrainOptions& o) {
    o.unet.base_filters = j.value("filters", o.unet.base_filters);
    o.unet.depth = j.value("depth", o.unet.depth);
    o.unet.batch_norm = j.value("batch_norm", o.unet.batch_norm);
    o.loss = parse_enum("loss", j.value("loss", enum_name(o.loss, kUNetLossNames)), kUNetLossNames);
    o.augment = j.value("augment", o.augment);
    o.scale_augment = j.value("scale_augment", o.scale_augment);
    o.crop = j.value("crop", o.crop);
    o.max_samples_per_epoch = j.value("max_samples_per_epoch", o.max_samples_per_epoch);
    o.epoch_samples = j.value("epoch_samples", o.epoch_samples);
    o.sampling = parse_enum("sampling", j.value("sampling", enum_name(o.sampling, kSamplingNames)), kSamplingNames);
    o.nodule_mining = j.value("nodule_mining", o.nodule_mining);
}

const MetricsFields<EpochMetrics>& unet_metrics_fields() {
    static const MetricsFields<EpochMetrics> fields = {{"train_loss", &EpochMetrics::train_loss},
                                                       {"train_dice", &EpochMetrics::train_dice},
                                                       {"val_dice", &EpochMetrics::val_dice},
                                                       {"samples_per_s", &EpochMetrics::samples_per_second},
                                                       {"seconds", &EpochMetrics::seconds}};
    return fields;
}

std::vector<EpochMetrics> read_unet_metrics(const std::string& run_dir) { return read_metrics(run_dir, unet_metrics_fields()); }

TrainOptions unet_resume_options(const std::string& run_dir) { return resume_options_of<TrainOptions>(run_dir, "unet"); }

}  // namespace nodulecad
