#include "nodulecad/io/cohort_layout.hpp"

#include <algorithm>
#include <filesystem>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/warnings.hpp"
#include "nodulecad/io/dicom.hpp"
#include "nodulecad/io/image_file.hpp"
#include "nodulecad/io/nifti.hpp"
#include "nodulecad/io/text_numbers.hpp"

namespace nodulecad {

namespace fs = std::filesystem;

namespace {

bool is_image_file(const fs::path& p) { return p.extension() == ".mhd" || p.extension() == ".mha" || is_nifti_path(p.string()); }

ScanFile image_scan(const fs::path& p, int subset) {
    const std::string uid = is_nifti_path(p.string()) ? nifti_stem(p.string()) : p.stem().string();
    return {uid, p.string(), subset, ""};
}

// Whether any file directly in `folder` looks like DICOM (cheap: a few bytes of each, known endings skipped).
bool holds_dicom_files(const fs::path& folder) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(folder, ec))
        if (e.is_regular_file() && !is_image_file(e.path()) && e.path().extension() != ".raw" && e.path().extension() != ".zraw" &&
            e.path().extension() != ".csv" && e.path().extension() != ".json" && looks_like_dicom(e.path().string()))
            return true;
    return false;
}

// The CT series anywhere under `folder`, each a scan read from that folder. Without DICOM support, a folder
// without DICOM files is simply empty; one with them is an Error saying what is missing.
void add_dicom_series(const fs::path& folder, int subset, std::vector<ScanFile>& out) {
    if (!dicom_supported()) {
        std::error_code ec;
        bool dicom = holds_dicom_files(folder);
        for (auto it = fs::recursive_directory_iterator(folder, ec); !dicom && it != fs::recursive_directory_iterator(); it.increment(ec))
            dicom = it->is_directory() && holds_dicom_files(it->path());
        if (dicom) fail(folder.string(), "holds DICOM files, but this nodulecad was built without GDCM (apt-get install libgdcm-dev, then rebuild)");
        return;
    }
    for (const auto& s : find_dicom_series(folder.string()))
        if (s.ct_image()) out.push_back({s.uid, folder.string(), subset, s.uid});
}

// A LUNA16-style folder: scan files directly in it and in subset<k>/, DICOM series in every other folder below.
void add_cohort(const fs::path& dir, std::vector<ScanFile>& out) {
    const auto add_files = [&](const fs::path& folder, int subset) {
        for (const auto& e : fs::directory_iterator(folder)) {
            if (e.is_regular_file() && is_image_file(e.path())) out.push_back(image_scan(e.path(), subset));
            else if (e.is_directory() && e.path().filename().string().rfind("subset", 0) != 0) add_dicom_series(e.path(), subset, out);
        }
    };
    add_files(dir, -1);
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (!e.is_directory() || name.rfind("subset", 0) != 0) continue;
        const auto k = parse_int(std::string_view(name).substr(6));
        const int subset = k ? static_cast<int>(*k) : -1;
        if (holds_dicom_files(e.path())) add_dicom_series(e.path(), subset, out);
        else add_files(e.path(), subset);
    }
}

}  // namespace

std::vector<ScanFile> find_scans(const std::string& dir) {
    std::error_code ec;
    if (fs::is_regular_file(dir, ec) && is_image_file(dir)) return {image_scan(dir, -1)};
    if (!fs::is_directory(dir, ec)) fail(dir, "data folder not found (nor a .mhd/.mha/.nii/.nii.gz scan)");
    std::vector<ScanFile> out;
    if (holds_dicom_files(dir)) add_dicom_series(dir, -1, out);
    else add_cohort(dir, out);
    std::sort(out.begin(), out.end(), [](const ScanFile& a, const ScanFile& b) { return a.uid < b.uid; });
    for (std::size_t n = 1; n < out.size(); ++n)
        if (out[n].uid == out[n - 1].uid) fail(out[n].path, "the same seriesuid also at " + out[n - 1].path);
    if (out.empty()) fail(dir, "no scans (.mhd, .mha, .nii, .nii.gz or DICOM series) found in subset*/ or directly in the folder");
    return out;
}

Volume<std::int16_t> read_scan(const ScanFile& scan, std::uint64_t max_bytes) {
    ImageReadOptions o;
    o.series = scan.series;
    o.max_bytes = max_bytes;
    ImageFileInfo info;
    Volume<std::int16_t> v = read_ct(scan.path, o, &info);
    for (const auto& w : info.warnings) warn(scan.path, w);
    return v;
}

std::string default_annotations(const std::string& data_dir) { return (fs::path(data_dir) / "annotations.csv").string(); }

std::string default_excluded(const std::string& data_dir) {
    const std::string p = (fs::path(data_dir) / "annotations_excluded.csv").string();
    std::error_code ec;
    return fs::exists(p, ec) ? p : std::string();
}

namespace {
const char* kPredictionEndings[] = {"_prob.mhd", "_prob.nii.gz", "_prob.nii"};
}  // namespace

std::string image_path(const std::string& dir, const std::string& stem) {
    std::error_code ec;
    for (const char* ext : {".mhd", ".mha", ".nii.gz", ".nii"}) {
        const fs::path p = fs::path(dir) / (stem + ext);
        if (fs::is_regular_file(p, ec)) return p.string();
    }
    return "";
}

std::string prediction_path(const std::string& dir, const std::string& uid) {
    const std::string p = image_path(dir, uid + "_prob");
    return p.empty() || fs::path(p).extension() == ".mha" ? "" : p;
}

std::vector<ScanFile> find_predictions(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) fail(dir, "prediction folder not found");
    std::vector<ScanFile> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (!e.is_regular_file()) continue;
        for (const std::string suffix : kPredictionEndings)
            if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
                out.push_back({name.substr(0, name.size() - suffix.size()), e.path().string(), -1, ""});
                break;
            }
    }
    std::sort(out.begin(), out.end(), [](const ScanFile& a, const ScanFile& b) { return a.uid < b.uid; });
    for (std::size_t n = 1; n < out.size(); ++n)
        if (out[n].uid == out[n - 1].uid) fail(out[n].path, "a second prediction for " + out[n].uid + " beside " + out[n - 1].path);
    if (out.empty()) fail(dir, "no <uid>_prob.mhd or <uid>_prob.nii.gz files (make them with nodulecad predict)");
    return out;
}

}  // namespace nodulecad
