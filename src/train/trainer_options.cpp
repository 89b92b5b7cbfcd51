#include "nodulecad/train/trainer_options.hpp"

#include <nlohmann/json.hpp>

#include "nodulecad/core/error.hpp"

namespace nodulecad {

void TrainerOptions::check() const {
    require_positive("epochs", epochs);
    require_positive("batch", batch);
    require_positive("lr", lr);
    require_positive("validate_every", validate_every);
    require_positive("validate_from", validate_from);
    require_non_negative("loader_threads", loader_threads);
    require_positive("dist_timeout_s", dist_timeout_s);
}

void to_json(nlohmann::json& j, const TrainerOptions& o) {
    j = {{"epochs", o.epochs}, {"batch", o.batch}, {"lr", o.lr}, {"lr_schedule", enum_name(o.lr_schedule, kLrScheduleNames)},
         {"keep", enum_name(o.keep, kKeepWeightsNames)}, {"seed", o.seed},
         {"amp", o.amp}};
    // Written only when set, so the stage keys and config.json of runs that validate every epoch stay as they were.
    if (o.validate_every != 1) j["validate_every"] = o.validate_every;
    if (o.validate_from != 1) j["validate_from"] = o.validate_from;
}

void from_json(const nlohmann::json& j, TrainerOptions& o) {
    o.epochs = j.value("epochs", o.epochs);
    o.batch = j.value("batch", o.batch);
    o.lr = j.value("lr", o.lr);
    o.lr_schedule = parse_enum("lr_schedule", j.value("lr_schedule", enum_name(o.lr_schedule, kLrScheduleNames)), kLrScheduleNames);
    o.keep = parse_enum("keep", j.value("keep", enum_name(o.keep, kKeepWeightsNames)), kKeepWeightsNames);
    o.seed = j.value("seed", o.seed);
    o.amp = j.value("amp", o.amp);
    o.validate_every = j.value("validate_every", o.validate_every);
    o.validate_from = j.value("validate_from", o.validate_from);
}

}  // namespace nodulecad
