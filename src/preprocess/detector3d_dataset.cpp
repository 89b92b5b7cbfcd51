#include "nodulecad/preprocess/detector3d_dataset.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/core/progress.hpp"
#include "nodulecad/core/warnings.hpp"
#include "nodulecad/io/cohort_layout.hpp"
#include "nodulecad/io/npy.hpp"
#include "nodulecad/io/tables.hpp"
#include "nodulecad/preprocess/nodule_masks.hpp"
#include "nodulecad/preprocess/patient_split.hpp"

namespace nodulecad {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kFormat = "nodulecad-detector3d-data";

json geometry_json(const Geometry& g) {
    return {{"size", g.size}, {"spacing", g.spacing}, {"origin", g.origin}, {"direction", g.direction}};
}

Geometry geometry_from(const json& j, const std::string& source) {
    Geometry g;
    j.at("size").get_to(g.size);
    j.at("spacing").get_to(g.spacing);
    j.at("origin").get_to(g.origin);
    j.at("direction").get_to(g.direction);
    validate(g, source.c_str());
    return g;
}

}  // namespace

Detector3dDataset build_detector3d_dataset(const Detector3dDatasetOptions& o) {
    o.grid.check();
    const std::vector<ScanFile> scans = find_scans(o.data_dir);
    if (scans.empty()) fail(o.data_dir, "no scans found");
    const AnnotationsByUid nodules = group_by_uid(read_annotations(o.annotations));
    const std::set<std::string> val = validation_uids(scans, o.val_fraction, o.val_subsets, o.seed);
    std::error_code ec;
    fs::create_directories(o.out_dir, ec);
    if (ec) fail(o.out_dir, "cannot create the folder: " + ec.message());

    Detector3dDataset d;
    d.dir = o.out_dir;
    d.grid = o.grid;
    json entries = json::array();
    Progress progress("grid3d", static_cast<std::int64_t>(scans.size()), "scans");
    for (const ScanFile& file : scans) {
        const Volume<std::int16_t> scan = read_scan(file);
        for (const std::string& problem : annotation_problems(scan.geometry, annotations_of(nodules, file.uid))) warn(file.path, problem);
        LungSegmentationOptions lo = o.lungs;
        lo.threads = o.threads;
        const Volume<std::uint8_t> lungs = segment_lungs_robust(scan, lo).mask;
        const Volume<std::uint8_t> box = lung_box_on_grid(scan, lungs, o.grid, o.threads);
        Detector3dScan s;
        s.uid = file.uid;
        s.file = file.uid + ".npy";
        s.geometry = box.geometry;
        s.validation = val.count(file.uid) > 0;
        for (const Annotation& a : annotations_of(nodules, file.uid)) s.nodules.push_back({world_to_index(box.geometry, a.world), a.diameter_mm});
        const auto& n = box.geometry.size;
        write_npy((fs::path(o.out_dir) / s.file).string(), {n[2], n[1], n[0]}, box.voxels);
        if (o.lung_mask) {
            s.lungs_file = file.uid + "_lungs.npy";
            write_npy((fs::path(o.out_dir) / s.lungs_file).string(), {n[2], n[1], n[0]}, lungs_on_grid(lungs, box.geometry, o.threads).voxels);
        }
        json nj = json::array();
        for (const GridNodule& g : s.nodules) nj.push_back({{"index", g.index}, {"diameter_mm", g.diameter_mm}});
        json e = {{"uid", s.uid}, {"file", s.file}, {"validation", s.validation}, {"geometry", geometry_json(s.geometry)}, {"nodules", nj}};
        if (o.lung_mask) e["lungs_file"] = s.lungs_file;
        entries.push_back(std::move(e));
        d.scans.push_back(std::move(s));
        progress.advance();
    }
    progress.finish();
    const json all = {{"format", kFormat}, {"grid", o.grid}, {"scans", entries}};
    write_file_atomically((fs::path(o.out_dir) / "dataset.json").string(), all.dump(1) + "\n");
    return d;
}

Detector3dDataset read_detector3d_dataset(const std::string& dir) {
    const std::string path = (fs::path(dir) / "dataset.json").string();
    std::error_code ec;
    if (!fs::exists(path, ec)) fail(path, "not found (make the 3D detector's data first)");
    try {
        const json j = json::parse(read_file(path));
        if (j.value("format", std::string()) != kFormat) fail(path, "not a 3D detector dataset");
        Detector3dDataset d;
        d.dir = dir;
        j.at("grid").get_to(d.grid);
        d.grid.check();
        for (const json& e : j.at("scans")) {
            Detector3dScan s;
            e.at("uid").get_to(s.uid);
            e.at("file").get_to(s.file);
            s.lungs_file = e.value("lungs_file", std::string());
            e.at("validation").get_to(s.validation);
            s.geometry = geometry_from(e.at("geometry"), path);
            for (const json& n : e.at("nodules")) s.nodules.push_back({n.at("index").get<Vec3>(), n.at("diameter_mm").get<double>()});
            d.scans.push_back(std::move(s));
        }
        return d;
    } catch (const json::exception& e) {
        fail(path, std::string("not a 3D detector dataset: ") + e.what());
    }
}

}  // namespace nodulecad
