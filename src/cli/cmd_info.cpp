// nodulecad info SCAN|MODEL|CHECKPOINT: a scan's format, geometry and intensity summary (MetaImage, NIfTI or
// DICOM), a model bundle's card with its networks' cards, or a checkpoint's card — one JSON object.
#include <array>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/core/volume_stats.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/io/image_file.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/io/nifti.hpp"
#include "nodulecad/pipeline/model_bundle.hpp"
#ifdef NODULECAD_HAVE_TORCH
#include "nodulecad/model/checkpoint_card.hpp"
#endif

namespace nodulecad::cli {

namespace {

struct InfoArgs {
    std::string file;
    std::vector<double> index;  // I J K (continuous)
    std::vector<double> world;  // X Y Z (mm)
    bool pretty = false;
    std::string series;
};

nlohmann::ordered_json vec(const Vec3& v) { return nlohmann::ordered_json::array({v[0], v[1], v[2]}); }

namespace fs = std::filesystem;

// A model bundle: a folder holding model.json, or model.json itself (a DICOM series folder holds no model.json).
bool is_bundle_path(const std::string& p) {
    std::error_code ec;
    return fs::path(p).filename() == kModelBundleCard || (fs::is_directory(p, ec) && fs::exists(fs::path(p) / kModelBundleCard, ec));
}
bool is_checkpoint_path(const std::string& p) { return fs::path(p).extension() == ".pt"; }

// A checkpoint's card (what the network is, what it was trained on and for how long).
nlohmann::ordered_json checkpoint_card(const std::string& path) {
#ifdef NODULECAD_HAVE_TORCH
    try {
        return nlohmann::ordered_json::parse(read_card_text(path));
    } catch (const nlohmann::json::exception& e) {
        fail(path, std::string("model card is not JSON: ") + e.what());
    }
#else
    throw Error(path + ": reading a checkpoint needs LibTorch, and this nodulecad was built without it (apt-get install libtorch-dev, then rebuild)");
#endif
}

void print(const nlohmann::ordered_json& out, bool pretty) { std::cout << (pretty ? out.dump(2) : out.dump()) << std::endl; }

// The bundle's card as written, and each network's own card under "networks" by its role.
void run_bundle_info(const std::string& path, bool pretty) {
    const ModelBundle b = read_model_bundle(path);  // refuses a bundle of another format or with a network missing
    nlohmann::ordered_json out;
    out["file"] = path;
    out["kind"] = "model bundle";
    out["bundle"] = nlohmann::ordered_json::parse(read_file(b.card));
    nlohmann::ordered_json networks = nlohmann::ordered_json::object();
    for (const auto& [role, file] : {std::pair{"unet", b.unet}, {"detector3d", b.detector3d}, {"fpr", b.fpr}})
        if (!file.empty()) networks[role] = {{"file", file}, {"card", checkpoint_card(file)}};
    out["networks"] = networks;
    print(out, pretty);
}

void run_checkpoint_info(const std::string& path, bool pretty) {
    nlohmann::ordered_json out;
    out["file"] = path;
    out["kind"] = "checkpoint";
    out["card"] = checkpoint_card(path);
    print(out, pretty);
}

void run_info(const InfoArgs& a) {
    if (is_bundle_path(a.file)) return run_bundle_info(a.file, a.pretty);
    if (is_checkpoint_path(a.file)) return run_checkpoint_info(a.file, a.pretty);
    ImageReadOptions opts;
    opts.series = a.series;
    opts.threads = default_thread_count();
    ImageFileInfo info;
    const AnyVolume volume = read_image(a.file, opts, &info);
    for (const auto& w : info.warnings) std::cerr << "nodulecad: warning: " << a.file << ": " << w << "\n";
    MetaImageHeader header;
    if (info.format == ImageFormat::MetaImage) header = read_metaimage_header(a.file);
    const Geometry& g = geometry_of(volume);
    const IntensitySummary s = summarize(volume);

    nlohmann::ordered_json out;
    out["file"] = a.file;
    out["format"] = enum_name(info.format, kImageFormatNames);
    if (info.format == ImageFormat::Dicom) {
        out["series_uid"] = info.series_uid;
        out["modality"] = info.modality;
        out["slices"] = info.slices;
        out["spacing_source"] = info.spacing_source;
    }
    if (info.format == ImageFormat::Nifti) out["transform"] = info.transform;
    out["ndims"] = info.format == ImageFormat::MetaImage ? header.ndims : (g.size[2] > 1 ? 3 : 2);
    out["size"] = {g.size[0], g.size[1], g.size[2]};
    out["spacing"] = vec(g.spacing);
    out["origin"] = vec(g.origin);
    out["direction"] = std::vector<double>(g.direction.begin(), g.direction.end());
    out["element_type"] = std::string(metaimage_name(element_type_of_volume(volume)));
    out["compressed"] = info.format == ImageFormat::MetaImage ? header.compressed : is_nifti_path(a.file) && a.file.size() > 3 && a.file.compare(a.file.size() - 3, 3, ".gz") == 0;
    out["min"] = s.min;
    out["max"] = s.max;
    out["mean"] = s.mean;
    if (s.non_finite) out["non_finite_voxels"] = s.non_finite;
    const IndexWorldTransform t(g);
    if (!a.index.empty()) {
        const Vec3 idx{a.index[0], a.index[1], a.index[2]};
        out["index_to_world"] = {{"index", vec(idx)}, {"world", vec(t.to_world(idx))}};
    }
    if (!a.world.empty()) {
        const Vec3 w{a.world[0], a.world[1], a.world[2]};
        out["world_to_index"] = {{"world", vec(w)}, {"index", vec(t.to_index(w))}};
    }
    print(out, a.pretty);
}

}  // namespace

void register_info(CLI::App& app) {
    auto args = std::make_shared<InfoArgs>();
    CLI::App* cmd = app.add_subcommand(
        "info",
        "Print a scan's format, geometry and intensity range as one JSON object on stdout: format, size, spacing,\n"
        "origin, direction (9 numbers, row-major D; columns = index axes; ITK's LPS world), element_type, min, max,\n"
        "mean; for DICOM the series uid, modality, slice count and where the slice spacing came from; for NIfTI\n"
        "which transform (sform or qform) placed it. Given a model bundle (WORK/model or its model.json): its card and\n"
        "each network's card (network shape, grid, patch, FP-reduction arch, the epoch it holds). Given a checkpoint\n"
        "(.pt): its card.");
    cmd->add_option("file", args->file, "A scan: MetaImage (.mhd with its .raw/.zraw, or .mha), NIfTI (.nii, .nii.gz) or a DICOM series\n"
                                        "folder; or a model bundle folder / model.json; or a checkpoint (.pt)")
        ->required();
    cmd->add_option("--series", args->series, "DICOM: the SeriesInstanceUID to read when the folder holds several");
    cmd->add_option("--index-to-world", args->index, "Also convert the continuous voxel index I J K to world mm")
        ->expected(3)
        ->type_name("I J K");
    cmd->add_option("--world-to-index", args->world, "Also convert the world point X Y Z (mm) to a continuous index")
        ->expected(3)
        ->type_name("X Y Z");
    cmd->add_flag("--pretty", args->pretty, "Indent the JSON (default: one line)");
    cmd->callback([args] { run_info(*args); });
}

}  // namespace nodulecad::cli
