#include "io/cohort_layout.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/error.hpp"
#include "core/random.hpp"
#include "io/text_numbers.hpp"

namespace nodulecad {

namespace fs = std::filesystem;

namespace {
bool is_scan(const fs::path& p) { return p.extension() == ".mhd" || p.extension() == ".mha"; }
}  // namespace

std::vector<ScanFile> find_scans(const std::string& dir) {
    std::error_code ec;
    if (fs::is_regular_file(dir, ec) && is_scan(dir)) return {{fs::path(dir).stem().string(), dir, -1}};
    if (!fs::is_directory(dir, ec)) fail(dir, "data folder not found (nor a .mhd/.mha scan)");
    std::vector<ScanFile> out;
    const auto add_from = [&](const fs::path& folder, int subset) {
        for (const auto& e : fs::directory_iterator(folder))
            if (e.is_regular_file() && is_scan(e.path())) out.push_back({e.path().stem().string(), e.path().string(), subset});
    };
    add_from(dir, -1);
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (e.is_directory() && name.rfind("subset", 0) == 0) {
            const auto k = parse_int(std::string_view(name).substr(6));
            add_from(e.path(), k ? static_cast<int>(*k) : -1);
        }
    }
    std::sort(out.begin(), out.end(), [](const ScanFile& a, const ScanFile& b) { return a.uid < b.uid; });
    for (std::size_t n = 1; n < out.size(); ++n)
        if (out[n].uid == out[n - 1].uid) fail(out[n].path, "the same seriesuid also at " + out[n - 1].path);
    if (out.empty()) fail(dir, "no scans (.mhd or .mha) found in subset*/ or directly in the folder");
    return out;
}

std::vector<ScanFile> find_predictions(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) fail(dir, "prediction folder not found");
    const std::string suffix = "_prob.mhd";
    std::vector<ScanFile> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (e.is_regular_file() && name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
            out.push_back({name.substr(0, name.size() - suffix.size()), e.path().string(), -1});
    }
    std::sort(out.begin(), out.end(), [](const ScanFile& a, const ScanFile& b) { return a.uid < b.uid; });
    if (out.empty()) fail(dir, "no <uid>_prob.mhd files (make them with nodulecad predict)");
    return out;
}

std::set<std::string> validation_uids(const std::vector<ScanFile>& scans, double fraction, const std::vector<int>& subsets,
                                      std::uint64_t seed) {
    std::set<std::string> val;
    if (!subsets.empty()) {
        for (const auto& e : scans)
            if (std::find(subsets.begin(), subsets.end(), e.subset) != subsets.end()) val.insert(e.uid);
        return val;
    }
    const std::vector<ScanFile> order = validation_order(scans, seed);
    const auto n_val = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(scans.size())));
    for (std::size_t n = 0; n < n_val && n < order.size(); ++n) val.insert(order[n].uid);
    return val;
}

std::vector<ScanFile> validation_order(const std::vector<ScanFile>& scans, std::uint64_t seed) {
    std::vector<ScanFile> order = scans;
    std::stable_sort(order.begin(), order.end(), [&](const ScanFile& a, const ScanFile& b) {
        const std::uint64_t ha = mix64(seed ^ hash_string(a.uid)), hb = mix64(seed ^ hash_string(b.uid));
        return ha != hb ? ha < hb : a.uid < b.uid;
    });
    return order;
}

}  // namespace nodulecad
