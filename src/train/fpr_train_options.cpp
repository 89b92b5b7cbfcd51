// The FP-reduction trainer's options: defaults, checks and JSON (plain C++).
#include <nlohmann/json.hpp>

#include "nodulecad/core/error.hpp"
#include "nodulecad/train/train_fpr.hpp"

namespace nodulecad {

using json = nlohmann::json;

TrainerOptions fpr_trainer_defaults() {
    TrainerOptions t;
    t.epochs = 10;
    t.batch = 64;
    t.lr = 1e-3;
    t.lr_schedule = LrSchedule::Cosine;
    return t;
}

void FprTrainOptions::check() const {
    run.check();
    set.check();
    net.check();
    net.check_patch(set.patch);
    require_between("symmetries", symmetries, 1, kCubeSymmetries);
    require_positive("positive_ratio", positive_ratio);
    require_non_negative("max_samples_per_epoch", max_samples_per_epoch);
    require_between("intensity_augment", intensity_augment, 0.0, 0.5);
}

void to_json(json& j, const FprTrainOptions& o) {
    j = {{"set", o.set},
         {"net", o.net},
         {"symmetries", o.symmetries},
         {"positive_ratio", o.positive_ratio},
         {"max_samples_per_epoch", o.max_samples_per_epoch},
         {"augment", o.augment}};
    // Only when set, so the stage keys of every earlier run stay what they were.
    if (o.intensity_augment > 0) j["intensity_augment"] = o.intensity_augment;
}

void from_json(const json& j, FprTrainOptions& o) {
    if (j.contains("set")) j.at("set").get_to(o.set);
    if (j.contains("net")) j.at("net").get_to(o.net);
    o.symmetries = j.value("symmetries", o.symmetries);
    o.positive_ratio = j.value("positive_ratio", o.positive_ratio);
    o.max_samples_per_epoch = j.value("max_samples_per_epoch", o.max_samples_per_epoch);
    o.augment = j.value("augment", o.augment);
    o.intensity_augment = j.value("intensity_augment", o.intensity_augment);
}

const MetricsFields<FprEpochMetrics>& fpr_metrics_fields() {
    using M = FprEpochMetrics;
    static const MetricsFields<M> fields = {{"train_loss", &M::train_loss}, {"val_loss", &M::val_loss},   {"val_auc", &M::val_auc},
                                            {"val_precision", &M::val_precision}, {"val_recall", &M::val_recall}, {"val_f1", &M::val_f1},
                                            {"cpm_before", &M::cpm_before}, {"cpm_after", &M::cpm_after}, {"cpm_product", &M::cpm_product},
                                            {"cpm_mean", &M::cpm_mean},       {"samples_per_s", &M::samples_per_second}, {"seconds", &M::seconds}};
    return fields;
}

std::vector<FprEpochMetrics> read_fpr_metrics(const std::string& run_dir) { return read_metrics(run_dir, fpr_metrics_fields()); }

FprEpochMetrics fpr_metrics_of(const std::string& run_dir, int epoch) {
    for (const auto& m : read_fpr_metrics(run_dir))
        if (m.epoch == epoch) return m;
    fail(run_dir, "no metrics for epoch " + std::to_string(epoch));
}

FprTrainOptions fpr_resume_options(const std::string& run_dir) {
    FprTrainOptions o;
    read_run_config(run_dir, "fpr", [&](const json& j) {
        j.at("options").get_to(o);
        j.at("trainer").get_to(o.run);
    });
    o.run.run_dir = run_dir;
    o.run.resume = true;
    return o;
}

}  // namespace nodulecad
