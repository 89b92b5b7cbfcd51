#include "nodulecad/pipeline/stage_runner.hpp"

#include <filesystem>
#include <iostream>

#include "nodulecad/core/cpu_time.hpp"
#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/core/stopwatch.hpp"

namespace nodulecad {

namespace fs = std::filesystem;
using json = nlohmann::json;

StageRunner::StageRunner(std::string marker_dir, std::string prefix, int total, std::vector<StageTime>& times)
    : dir_(std::move(marker_dir)), prefix_(std::move(prefix)), total_(total), times_(times) {
    fs::create_directories(dir_);
}

namespace {
// Whether the marker holds `key` (a missing or unreadable marker does not).
bool marker_holds(const std::string& marker, const json& key) {
    std::error_code ec;
    if (!fs::exists(marker, ec)) return false;
    try {
        return json::parse(read_file(marker)).at("key") == key;
    } catch (const json::exception&) {
        return false;
    }
}
}  // namespace

void StageRunner::run(const std::string& name, const std::vector<std::string>& inputs, const json& options, const std::vector<std::string>& outputs,
                      const std::function<void(bool fresh)>& work) {
    ++index_;
    json key = {{"options", options}};
    bool fresh = false;
    for (const auto& d : inputs) {
        key["inputs"][d] = keys_.at(d);
        fresh = fresh || ran(d);
    }
    keys_[name] = key;
    const std::string marker = (fs::path(dir_) / (name + ".json")).string();
    const std::string label = "[" + std::to_string(index_) + "/" + std::to_string(total_) + "] " + prefix_ + name;
    std::error_code ec;
    const bool had_marker = fs::exists(marker, ec), same_key = marker_holds(marker, key);
    fresh = fresh || (had_marker && !same_key);
    bool done = same_key && !fresh;
    for (const auto& p : outputs) done = done && fs::exists(p, ec);
    if (done) {
        std::cerr << label << ": done earlier, skipped\n";
        times_.push_back({prefix_ + name, 0, 0, true});
        return;
    }
    if (!refuse_.empty()) throw Error(prefix_ + name + " has not finished" + refuse_);
    ran_.insert(name);
    fs::remove(marker, ec);
    std::cerr << label << "\n";
    const Stopwatch watch;
    const double cpu0 = process_cpu_seconds();
    work(fresh);
    const double s = watch.seconds();
    const double cpu = process_cpu_seconds() - cpu0;
    write_file_atomically(marker, json({{"key", key}, {"seconds", s}, {"cpu_seconds", cpu}}).dump(1) + "\n");
    times_.push_back({prefix_ + name, s, cpu, false});
}

void StageRunner::add_key(const std::string& name, const json& key, bool ran_now) {
    keys_[name] = key;
    if (ran_now) ran_.insert(name);
}

}  // namespace nodulecad
