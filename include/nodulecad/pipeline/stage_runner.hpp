#pragma once
// Runs a pipeline's stages in order and makes the pipeline resumable: each stage leaves a marker
// (DIR/<stage>.json) with its key, the stage's options and its inputs' keys. A stage is skipped when its marker
// holds the same key and its outputs all exist, unless a stage it depends on ran now; it starts afresh (partial
// outputs discarded) when its key changed or an input ran now; otherwise (interrupted, outputs deleted) it resumes.
// Plain C++.
#include <functional>
#include <utility>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace nodulecad {

struct StageTime {
    std::string name;
    double seconds = 0;      // wall clock
    double cpu_seconds = 0;  // the process's CPU time over the stage (all threads)
    bool skipped = false;
};

class StageRunner {
public:
    // Markers in `marker_dir`; names printed as "[i/total] <prefix><name>"; each stage's time appended to `times`.
    StageRunner(std::string marker_dir, std::string prefix, int total, std::vector<StageTime>& times);

    // `work(fresh)`: fresh tells the stage that its key changed or an input ran now (discard partial outputs).
    void run(const std::string& name, const std::vector<std::string>& inputs, const nlohmann::json& options, const std::vector<std::string>& outputs,
             const std::function<void(bool fresh)>& work);
    // A key made elsewhere (another runner's stages) that later stages can name as an input.
    void add_key(const std::string& name, const nlohmann::json& key, bool ran_now);
    const nlohmann::json& key(const std::string& name) const { return keys_.at(name); }
    // From now on a stage that would run is an Error instead ("<prefix><name> has not finished<why>"): for a run
    // that only gathers what other jobs finished (`run --folds N --merge`).
    void refuse_work(std::string why) { refuse_ = std::move(why); }
    bool ran(const std::string& name) const { return ran_.count(name) > 0; }

private:
    std::string dir_, prefix_, refuse_;
    int total_, index_ = 0;
    std::map<std::string, nlohmann::json> keys_;
    std::set<std::string> ran_;
    std::vector<StageTime>& times_;
};

}  // namespace nodulecad
