// nodulecad segment-lungs SCAN.mhd --out MASK.mhd: lung mask of a chest CT.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.hpp"
#include "nodulecad/core/error.hpp"
#include "nodulecad/core/stopwatch.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/evaluate/overlap.hpp"
#include "nodulecad/io/image_file.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/preprocess/lung_segmentation.hpp"

namespace nodulecad::cli {

namespace {

struct SegmentArgs {
    std::string scan, out, truth, series;
    LungMethod method = LungMethod::Robust;
    int threads = default_thread_count();
    LungSegmentationOptions robust;
};

void run_segment(const SegmentArgs& a) {
    ImageReadOptions ro;
    ro.series = a.series;
    ro.threads = a.threads;
    const Volume<std::int16_t> scan = read_ct(a.scan, ro);
    Volume<std::uint8_t> truth;
    if (!a.truth.empty()) {
        truth = read_image_as<std::uint8_t>(a.truth);
        if (!same_grid(truth.geometry, scan.geometry)) throw nodulecad::Error(a.truth + ": geometry differs from " + a.scan);
    }
    const Stopwatch watch;
    LungSegmentationOptions o = a.robust;
    o.threads = a.threads;
    const LungSegmentation seg = segment_lungs(scan, a.method, o);
    const double seconds = watch.seconds();
    const std::filesystem::path parent = std::filesystem::path(a.out).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    write_image(a.out, seg.mask);

    std::int64_t voxels = 0;
    for (auto v : seg.mask.voxels) voxels += v != 0;
    const Geometry& g = scan.geometry;
    nlohmann::ordered_json j;
    j["scan"] = a.scan;
    j["mask"] = a.out;
    j["method"] = enum_name(a.method, kLungMethodNames);
    j["lung_ml"] = static_cast<double>(voxels) * g.spacing[0] * g.spacing[1] * g.spacing[2] / 1000;
    if (a.method == LungMethod::Robust) {
        j["components"] = seg.components;
        j["airway_voxels_removed"] = seg.airway_voxels;
    }
    j["seconds"] = seconds;
    if (!a.truth.empty()) {
        const Overlap ov = overlap(seg.mask, truth);
        j["dice"] = ov.dice();
        j["iou"] = ov.iou();
    }
    j["warnings"] = seg.warnings;
    for (const auto& w : seg.warnings) std::cerr << "nodulecad: warning: " << a.scan << ": " << w << "\n";
    std::cout << j.dump() << std::endl;
}

}  // namespace

void register_segment_lungs(CLI::App& app) {
    auto args = std::make_shared<SegmentArgs>();
    CLI::App* cmd = app.add_subcommand(
        "segment-lungs",
        "Segment the lungs of a chest CT (HU) and write a uint8 mask with the scan's geometry: 1 inside either lung\n"
        "(parenchyma, vessels, nodules, juxtapleural nodules included), 0 for trachea, main bronchi, mediastinum and\n"
        "everything else. Prints one JSON line (lung volume, time, Dice/IoU against --truth).");
    cmd->add_option("scan", args->scan, "Scan (.mhd/.mha, .nii/.nii.gz or a DICOM series folder)")->required();
    cmd->add_option("--series", args->series, "DICOM: the SeriesInstanceUID to read when the folder holds several");
    cmd->add_option("--out", args->out, "Output mask: .mhd/.mha (MetaImage) or .nii/.nii.gz (NIfTI)")->required();
    add_enum_option(cmd, "--method", args->method, kLungMethodNames,
                    "robust: 3D, for any chest CT (default); seed: the original system's per-slice recipe, for comparison");
    cmd->add_option("--truth", args->truth, "Reference lung mask: report Dice and IoU");
    cmd->add_option("--air-threshold", args->robust.air_threshold_hu, "robust: HU below which a voxel is air or lung")->capture_default_str();
    cmd->add_option("--closing-mm", args->robust.closing_radius_mm, "robust: closing radius that takes juxtapleural nodules in")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 50.0));
    cmd->add_option("--threads", args->threads, "Worker threads")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->callback([args] { run_segment(*args); });
}

}  // namespace nodulecad::cli
