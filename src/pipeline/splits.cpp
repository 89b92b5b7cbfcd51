#include "nodulecad/pipeline/splits.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/random.hpp"
#include "nodulecad/io/dicom.hpp"
#include "nodulecad/io/image_file.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/preprocess/patient_split.hpp"

namespace nodulecad {

namespace fs = std::filesystem;

namespace {

// Fold f of `folds`: by subset when every scan is in a subset folder, otherwise dealt round in a seeded order.
std::vector<std::set<std::string>> folds_of(const std::vector<ScanFile>& scans, int folds, std::uint64_t seed) {
    const bool subsets = std::all_of(scans.begin(), scans.end(), [](const ScanFile& s) { return s.subset >= 0; });
    std::vector<std::size_t> order(scans.size());
    for (std::size_t n = 0; n < order.size(); ++n) order[n] = n;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return mix64(seed ^ hash_string(scans[a].uid)) < mix64(seed ^ hash_string(scans[b].uid));
    });
    std::vector<std::set<std::string>> splits(static_cast<std::size_t>(folds));
    for (std::size_t r = 0; r < order.size(); ++r) {
        const ScanFile& s = scans[order[r]];
        splits[static_cast<std::size_t>(subsets ? s.subset % folds : static_cast<int>(r % static_cast<std::size_t>(folds)))].insert(s.uid);
    }
    return splits;
}

}  // namespace

std::vector<std::set<std::string>> test_splits(const std::vector<ScanFile>& scans, int folds, const std::vector<int>& test_subsets,
                                               double test_fraction, std::uint64_t seed) {
    if (folds == 1 || folds < 0) throw OptionError("folds", "must be 0 (one split) or at least 2, got " + std::to_string(folds));
    if (!(test_fraction > 0 && test_fraction < 1)) throw OptionError("test_fraction", "must be in (0, 1), got " + shown(test_fraction));
    const std::vector<std::set<std::string>> splits =
        folds > 1 ? folds_of(scans, folds, seed) : std::vector<std::set<std::string>>{validation_uids(scans, test_fraction, test_subsets, seed)};
    for (std::size_t f = 0; f < splits.size(); ++f)
        if (splits[f].empty() || splits[f].size() == scans.size())
            throw Error("split " + std::to_string(f) + " leaves no " + (splits[f].empty() ? "test" : "training") + " scans (" +
                        std::to_string(scans.size()) + " scans)");
    return splits;
}

FprScanChoice choose_fpr_scans(const std::vector<ScanFile>& train, int max_scans, double val_fraction, std::uint64_t seed) {
    FprScanChoice c{train, val_fraction};
    if (max_scans <= 0 || static_cast<int>(train.size()) <= max_scans) return c;
    c.scans = validation_order(train, seed);
    c.scans.resize(static_cast<std::size_t>(max_scans));
    std::sort(c.scans.begin(), c.scans.end(), [](const ScanFile& a, const ScanFile& b) { return a.uid < b.uid; });
    c.val_fraction = std::min(val_fraction, 0.25 * static_cast<double>(max_scans) / static_cast<double>(train.size()));
    return c;
}

namespace {

// A DICOM series as a folder of links to its files (the folder it came from may hold other series).
void link_dicom_series(const ScanFile& s, const fs::path& folder) {
    const fs::path dest = folder / s.uid;
    fs::create_directories(dest);
    for (const auto& series : find_dicom_series(s.path)) {
        if (series.uid != s.series) continue;
        for (std::size_t n = 0; n < series.files.size(); ++n) {
            char name[32];
            std::snprintf(name, sizeof name, "%05zu_", n);
            fs::create_symlink(fs::absolute(series.files[n]), dest / (name + fs::path(series.files[n]).filename().string()));
        }
    }
}

// A MetaImage header and, when detached, its data file.
void link_metaimage(const ScanFile& s, const fs::path& folder) {
    const fs::path src = fs::absolute(s.path);
    fs::create_symlink(src, folder / src.filename());
    if (src.extension() != ".mhd") return;
    const MetaImageHeader h = read_metaimage_header(s.path);
    if (h.data_file == "LOCAL") return;
    if (h.data_file.rfind("LIST", 0) == 0 || h.data_file.find('%') != std::string::npos)
        fail(s.path, "multi-file data (ElementDataFile = " + h.data_file + ") is not supported by run; convert to one .raw or .mha");
    const fs::path link = folder / fs::path(h.data_file);
    if (link.has_parent_path()) fs::create_directories(link.parent_path());
    fs::create_symlink(src.parent_path() / h.data_file, link);
}

}  // namespace

void link_scans(const std::vector<ScanFile>& scans, const std::string& dir) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    for (const auto& s : scans) {
        const fs::path folder = fs::path(dir) / (s.subset >= 0 ? "subset" + std::to_string(s.subset) : std::string("scans"));
        fs::create_directories(folder);
        switch (image_format(s.path)) {
            case ImageFormat::Dicom: link_dicom_series(s, folder); break;
            case ImageFormat::Nifti: fs::create_symlink(fs::absolute(s.path), folder / fs::path(s.path).filename()); break;
            case ImageFormat::MetaImage: link_metaimage(s, folder); break;
        }
    }
}

std::vector<std::string> uids_of(const std::vector<ScanFile>& scans) {
    std::vector<std::string> out;
    for (const auto& s : scans) out.push_back(s.uid);
    return out;
}

}  // namespace nodulecad
