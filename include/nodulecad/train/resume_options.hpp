#pragma once
// The options of a run to resume, from its RUN/config.json, for networks whose config holds "options" (the network's
// own, from_json), "trainer" (TrainerOptions) and "data" (the dataset folder): the U-Net's and the 3D detector's.
#include <nlohmann/json.hpp>
#include <string>

#include "nodulecad/train/run_folder.hpp"
#include "nodulecad/train/trainer_options.hpp"

namespace nodulecad {

// `Options` has from_json, a TrainerOptions `run` and a `data_dir`. Error naming the file as read_run_config does.
template <class Options>
Options resume_options_of(const std::string& run_dir, const std::string& network) {
    Options o;
    read_run_config(run_dir, network, [&](const nlohmann::json& j) {
        j.at("options").get_to(o);
        j.at("trainer").get_to(o.run);
        o.data_dir = j.at("data").get<std::string>();
    });
    o.run.run_dir = run_dir;
    o.run.resume = true;
    return o;
}

}  // namespace nodulecad
