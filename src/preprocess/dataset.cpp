#include "nodulecad/preprocess/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/core/progress.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/core/warnings.hpp"
#include "nodulecad/io/cohort_layout.hpp"
#include "nodulecad/io/csv.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/io/npy.hpp"
#include "nodulecad/io/tables.hpp"
#include "nodulecad/io/text_numbers.hpp"
#include "nodulecad/preprocess/lung_segmentation.hpp"
#include "nodulecad/preprocess/nodule_masks.hpp"
#include "nodulecad/preprocess/patient_split.hpp"
#include "nodulecad/preprocess/slice_grid.hpp"
#include "nodulecad/core/random.hpp"

namespace nodulecad {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

using ScanEntry = ScanFile;

struct SampleRow {
    std::int64_t slice = 0;
    double world_z = 0;
    int nodules = 0;
    bool positive = false;
};

std::string part_path(const DatasetOptions& o, const std::string& uid, const char* what) {
    return (fs::path(o.out_dir) / "parts" / (uid + what)).string();
}

// Everything that changes a scan's samples; a part made with other values is redone.
json part_params(const DatasetOptions& o, double pixel, const std::vector<Annotation>& rows) {
    std::uint64_t h = 0;
    for (const auto& a : rows) h = mix64(h ^ hash_string(format_double(a.world[0]) + format_double(a.world[1]) + format_double(a.world[2]) + format_double(a.diameter_mm)));
    json params = {{"size", o.size}, {"pixel_mm", pixel}, {"context", o.context}, {"window", {o.window_lo, o.window_hi}},
                   {"mask_lungs", o.mask_lungs}, {"negatives_per_positive", o.negatives_per_positive},
                   {"min_negatives_per_scan", o.min_negatives_per_scan}, {"seed", o.seed}, {"legacy_radius", o.legacy_radius},
                   {"annotations_hash", h}, {"rows_format", 2}};
    if (o.mask_min_diameter_mm > 0) params["mask_min_diameter_mm"] = o.mask_min_diameter_mm;  // earlier parts stay valid
    return params;
}

bool part_done(const DatasetOptions& o, const std::string& uid, const json& params) {
    std::error_code ec;
    const std::string p = part_path(o, uid, ".json");
    if (!fs::exists(p, ec)) return false;
    try {
        return json::parse(read_file(p)).at("params") == params;
    } catch (const std::exception&) {
        return false;  // unreadable part: redo it
    }
}

// Which slices of a scan become samples: every slice a nodule crosses, and a seeded sample of lung slices without
// nodules; per slice, how many nodules cross it and its nodule weight — each nodule's share is 1 / the slices it
// crosses, so a sampler weighting slices by the sum over their nodules draws every nodule equally often, whatever
// its size or the slice spacing.
struct SliceChoice {
    std::vector<std::int64_t> slices;  // sorted
    std::vector<int> nodules;          // per slice of the scan
    std::vector<double> weight;        // per slice of the scan
};

SliceChoice choose_slices(const std::string& uid, const Volume<std::uint8_t>& nodules, const Volume<std::uint8_t>& lungs, const DatasetOptions& o) {
    const Geometry& g = nodules.geometry;
    const std::int64_t nz = g.size[2];
    const std::size_t plane = static_cast<std::size_t>(g.size[0] * g.size[1]);
    SliceChoice c;
    c.nodules.assign(static_cast<std::size_t>(nz), 0);
    c.weight.assign(static_cast<std::size_t>(nz), 0.0);
    std::vector<std::int64_t> positives, candidates;
    std::vector<std::set<std::uint8_t>> labels(static_cast<std::size_t>(nz));
    std::vector<int> slices_of(256, 0);  // slices each nodule label crosses
    for (std::int64_t k = 0; k < nz; ++k) {
        auto& here = labels[static_cast<std::size_t>(k)];
        bool lung = false;
        for (std::size_t n = static_cast<std::size_t>(k) * plane; n < static_cast<std::size_t>(k + 1) * plane; ++n) {
            if (nodules.voxels[n]) here.insert(nodules.voxels[n]);
            lung |= lungs.voxels[n] != 0;
        }
        for (const std::uint8_t l : here) ++slices_of[l];
        c.nodules[static_cast<std::size_t>(k)] = static_cast<int>(here.size());
        if (!here.empty()) positives.push_back(k);
        else if (lung) candidates.push_back(k);
    }
    for (std::int64_t k = 0; k < nz; ++k)
        for (const std::uint8_t l : labels[static_cast<std::size_t>(k)]) c.weight[static_cast<std::size_t>(k)] += 1.0 / slices_of[l];
    const auto wanted = static_cast<std::size_t>(std::max<double>(o.min_negatives_per_scan, std::round(o.negatives_per_positive * static_cast<double>(positives.size()))));
    Rng rng = Rng::derive(o.seed, {hash_string(uid)});
    for (std::size_t n = 0; n < std::min(wanted, candidates.size()); ++n)
        std::swap(candidates[n], candidates[n + static_cast<std::size_t>(rng.uniform() * static_cast<double>(candidates.size() - n))]);
    candidates.resize(std::min(wanted, candidates.size()));
    c.slices = positives;
    c.slices.insert(c.slices.end(), candidates.begin(), candidates.end());
    std::sort(c.slices.begin(), c.slices.end());
    return c;
}

// One scan's part: its samples (images, masks) and their rows, or a "no-lungs" note. Written atomically.
void process_scan(const ScanEntry& e, const std::vector<Annotation>& rows, const DatasetOptions& o, double pixel, const json& params) {
    const Volume<std::int16_t> scan = read_scan(e);
    const Geometry& g = scan.geometry;
    for (const std::string& problem : annotation_problems(g, rows)) warn(e.path, problem);
    LungSegmentationOptions lo;
    lo.threads = 1;
    const LungSegmentation lungs = segment_lungs_robust(scan, lo);
    json part = {{"uid", e.uid}, {"params", params}};
    if (lungs.components == 0) {
        part["status"] = "no-lungs";
        write_file_atomically(part_path(o, e.uid, ".json"), part.dump() + "\n");
        return;
    }
    NoduleMaskOptions mo;
    mo.legacy_radius = o.legacy_radius;
    mo.min_diameter_mm = o.mask_min_diameter_mm;
    const Volume<std::uint8_t> nodules = nodule_mask(g, rows, mo);
    const SliceChoice chosen = choose_slices(e.uid, nodules, lungs.mask, o);

    // The sample grid around the lungs (shared with inference: preprocess/slice_grid).
    const SliceGrid grid = grid_around(lungs.mask, o.size, pixel);
    const WindowOptions w{o.window_lo, o.window_hi, o.context, o.mask_lungs};
    const int channels = 2 * o.context + 1;
    const auto S = static_cast<std::size_t>(o.size);
    const std::vector<std::int64_t>& slices = chosen.slices;
    std::vector<float> images(slices.size() * static_cast<std::size_t>(channels) * S * S);
    std::vector<std::uint8_t> masks(slices.size() * S * S);
    json rows_json = json::array();
    for (std::size_t s = 0; s < slices.size(); ++s) {
        const std::int64_t k = slices[s];
        const auto u = static_cast<std::size_t>(k);
        sample_image(scan, &lungs.mask, grid, k, w, images.data() + s * static_cast<std::size_t>(channels) * S * S);
        sample_mask(nodules, grid, k, masks.data() + s * S * S);
        rows_json.push_back({k, slice_world_z(g, k), chosen.nodules[u], chosen.nodules[u] > 0, chosen.weight[u]});
    }
    write_npy(part_path(o, e.uid, ".images.npy"), {static_cast<std::int64_t>(slices.size()), channels, o.size, o.size}, images);
    write_npy(part_path(o, e.uid, ".masks.npy"), {static_cast<std::int64_t>(slices.size()), 1, o.size, o.size}, masks);
    part["status"] = "ok";
    part["x0_mm"] = grid.x0;
    part["y0_mm"] = grid.y0;
    part["rows"] = rows_json;  // [slice, world_z, nodules in slice, positive, nodule weight]
    write_file_atomically(part_path(o, e.uid, ".json"), part.dump() + "\n");
}

}  // namespace

void DatasetOptions::check() const {
    require_between("size", size, 8, 4096);
    require_between("context", context, 0, 10);
    if (!(window_hi > window_lo)) throw OptionError("window", "upper HU must be above the lower, got " + shown(window_lo) + " to " + shown(window_hi));
    require_fraction("val_fraction", val_fraction);
    require_non_negative("negatives_per_positive", negatives_per_positive);
    require_non_negative("pixel_mm", pixel_mm);
    require_between("mask_min_diameter_mm", mask_min_diameter_mm, 0.0, 100.0);
}

void to_json(json& j, const DatasetOptions& o) {
    j = {{"size", o.size},
         {"pixel_mm", o.pixel_mm},
         {"context", o.context},
         {"window", {o.window_lo, o.window_hi}},
         {"mask_lungs", o.mask_lungs},
         {"negatives_per_positive", o.negatives_per_positive},
         {"min_negatives_per_scan", o.min_negatives_per_scan},
         {"val_fraction", o.val_fraction},
         {"val_subsets", o.val_subsets},
         {"float16", o.float16},
         {"legacy_radius", o.legacy_radius},
         {"seed", o.seed}};
    if (o.mask_min_diameter_mm > 0) j["mask_min_diameter_mm"] = o.mask_min_diameter_mm;  // earlier stage keys stay valid
}

namespace {

// Makes the parts not finished by an earlier run with the same parameters, in parallel (one scan per worker keeps
// memory bounded). Returns how many were made.
int make_parts(const std::vector<ScanEntry>& scans, const AnnotationsByUid& by_uid, const DatasetOptions& o, double pixel, DatasetSummary& sum) {
    std::vector<std::size_t> todo;
    std::vector<json> params(scans.size());
    for (std::size_t n = 0; n < scans.size(); ++n) {
        params[n] = part_params(o, pixel, annotations_of(by_uid, scans[n].uid));
        if (part_done(o, scans[n].uid, params[n])) ++sum.resumed;
        else if (o.shard.holds(n)) todo.push_back(n);
        else ++sum.pending;  // another shard's
    }
    Progress progress(o.shard.all() ? "preprocess" : "preprocess shard " + o.shard.describe(), static_cast<std::int64_t>(todo.size()), "scans");
    parallel_for(static_cast<std::int64_t>(todo.size()), std::max(1, o.threads), [&](std::int64_t t) {
        const std::size_t n = todo[static_cast<std::size_t>(t)];
        process_scan(scans[n], annotations_of(by_uid, scans[n].uid), o, pixel, params[n]);
        progress.advance();
    });
    return static_cast<int>(todo.size());
}

// The finished parts with samples, in seriesuid order (scans without lungs noted in the summary).
struct Part {
    const ScanEntry* scan;
    json info;
};
std::vector<Part> usable_parts(const std::vector<ScanEntry>& scans, const DatasetOptions& o, DatasetSummary& sum) {
    std::vector<Part> parts;
    for (const auto& e : scans) {
        json p = json::parse(read_file(part_path(o, e.uid, ".json")));
        if (p.at("status") != "ok") sum.skipped_no_lungs.push_back(e.uid);
        else parts.push_back({&e, std::move(p)});
    }
    return parts;
}

// images.npy, streamed part by part (never all in memory), and the mean and standard deviation of the training
// split's pixels.
void write_images(const std::vector<Part>& parts, std::int64_t total, const std::set<std::string>& val, const DatasetOptions& o, DatasetSummary& sum) {
    const int channels = 2 * o.context + 1;
    const auto S = static_cast<std::int64_t>(o.size);
    double s1 = 0, s2 = 0, n_train_pixels = 0;
    const std::string path = (fs::path(o.out_dir) / "images.npy").string();
    write_file_atomically(path, [&](std::FILE* f) {
        const std::string header = format_npy_header(std::string(o.float16 ? "<f2" : "<f4"), {total, channels, S, S});
        write_all(f, header.data(), header.size(), path);
        for (const Part& p : parts) {
            const auto arr = read_npy<float>(part_path(o, p.scan->uid, ".images.npy"));
            if (!val.count(p.scan->uid))
                for (float v : arr.data) s1 += v, s2 += static_cast<double>(v) * v, n_train_pixels += 1;
            if (o.float16) {
                std::vector<std::uint16_t> h(arr.data.size());
                for (std::size_t n = 0; n < h.size(); ++n) h[n] = float_to_half(arr.data[n]);
                write_all(f, h.data(), h.size() * 2, path);
            } else {
                write_all(f, arr.data.data(), arr.data.size() * 4, path);
            }
        }
    });
    if (n_train_pixels > 0) {
        sum.train_mean = s1 / n_train_pixels;
        sum.train_std = std::sqrt(std::max(0.0, s2 / n_train_pixels - sum.train_mean * sum.train_mean));
    }
}

void write_masks(const std::vector<Part>& parts, std::int64_t total, const DatasetOptions& o) {
    const auto S = static_cast<std::int64_t>(o.size);
    const std::string path = (fs::path(o.out_dir) / "masks.npy").string();
    write_file_atomically(path, [&](std::FILE* f) {
        const std::string header = format_npy_header(ElementType::UInt8, {total, 1, S, S});
        write_all(f, header.data(), header.size(), path);
        for (const Part& p : parts) {
            const auto arr = read_npy<std::uint8_t>(part_path(o, p.scan->uid, ".masks.npy"));
            write_all(f, arr.data.data(), arr.data.size(), path);
        }
    });
}

// index.csv: where each sample came from, its split and how to map its pixels back to the scan.
void write_index(const std::vector<Part>& parts, const std::set<std::string>& val, const DatasetOptions& o, double pixel, DatasetSummary& sum) {
    std::string index = "row,seriesuid,scan,subset,split,slice,world_z,positive,nodules,nodule_weight,x0_mm,y0_mm,pixel_mm,size,channels\n";
    std::int64_t row = 0;
    for (const Part& p : parts) {
        const ScanEntry& e = *p.scan;
        const bool is_val = val.count(e.uid) > 0;
        for (const auto& r : p.info.at("rows")) {
            const bool positive = r[3].get<bool>();
            index += format_csv_row({std::to_string(row++), e.uid, fs::relative(e.path, o.data_dir).string(), std::to_string(e.subset),
                                     is_val ? "val" : "train", std::to_string(r[0].get<std::int64_t>()), format_double(r[1].get<double>()),
                                     positive ? "1" : "0", std::to_string(r[2].get<int>()), format_double(r[4].get<double>()),
                                     format_double(p.info.at("x0_mm").get<double>()), format_double(p.info.at("y0_mm").get<double>()),
                                     format_double(pixel), std::to_string(o.size), std::to_string(2 * o.context + 1)});
            sum.positives += positive;
            (is_val ? sum.val : sum.train) += 1;
        }
    }
    write_file_atomically((fs::path(o.out_dir) / "index.csv").string(), index);
}

void write_stats(const DatasetSummary& sum, std::size_t val_scans, const DatasetOptions& o, double pixel, const std::string& ann_path) {
    json options = o;
    options["pixel_mm"] = pixel;  // resolved
    options["channels"] = 2 * o.context + 1;
    options["dtype"] = o.float16 ? "float16" : "float32";
    options["annotations"] = ann_path;
    const json stats = {{"train_mean", sum.train_mean}, {"train_std", sum.train_std},
                        {"samples", sum.samples},       {"train", sum.train},
                        {"val", sum.val},               {"positives", sum.positives},
                        {"negatives", sum.samples - sum.positives}, {"scans", sum.scans},
                        {"val_scans", val_scans},       {"skipped_no_lungs", sum.skipped_no_lungs},
                        {"annotations_without_scan", sum.annotations_without_scan}, {"options", options}};
    write_file_atomically((fs::path(o.out_dir) / "stats.json").string(), stats.dump(1) + "\n");
}

}  // namespace

DatasetSummary build_dataset(const DatasetOptions& o) {
    o.check();
    const double pixel = o.sample_pixel_mm();
    const std::vector<ScanEntry> scans = find_scans(o.data_dir);
    const std::string ann_path = o.annotations.empty() ? default_annotations(o.data_dir) : o.annotations;
    std::error_code ec;
    if (!fs::exists(ann_path, ec)) fail(ann_path, "annotations file not found (give --annotations)");
    const AnnotationsByUid by_uid = group_by_uid(read_annotations(ann_path));

    DatasetSummary sum;
    sum.scans = static_cast<int>(scans.size());
    std::set<std::string> have;
    for (const auto& e : scans) have.insert(e.uid);
    for (const auto& [uid, rows] : by_uid)
        if (!have.count(uid)) sum.annotations_without_scan.push_back(uid);
    fs::create_directories(fs::path(o.out_dir) / "parts", ec);
    if (ec) fail(o.out_dir, "cannot create output folder: " + ec.message());

    sum.processed = make_parts(scans, by_uid, o, pixel, sum);
    if (sum.pending > 0) {
        sum.written = false;
        return sum;
    }
    const std::set<std::string> val = validation_uids(scans, o.val_fraction, o.val_subsets, o.seed);
    const std::vector<Part> parts = usable_parts(scans, o, sum);
    for (const Part& p : parts) sum.samples += static_cast<std::int64_t>(p.info.at("rows").size());
    write_images(parts, sum.samples, val, o, sum);
    write_masks(parts, sum.samples, o);
    write_index(parts, val, o, pixel, sum);
    write_stats(sum, val.size(), o, pixel, ann_path);
    return sum;
}

}  // namespace nodulecad
