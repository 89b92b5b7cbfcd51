#include "nodulecad/io/cohort_layout.hpp"

#include <algorithm>
#include <filesystem>

#include "nodulecad/core/error.hpp"
#include "nodulecad/io/text_numbers.hpp"

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

std::string default_annotations(const std::string& data_dir) { return (fs::path(data_dir) / "annotations.csv").string(); }

std::string default_excluded(const std::string& data_dir) {
    const std::string p = (fs::path(data_dir) / "annotations_excluded.csv").string();
    std::error_code ec;
    return fs::exists(p, ec) ? p : std::string();
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

}  // namespace nodulecad
