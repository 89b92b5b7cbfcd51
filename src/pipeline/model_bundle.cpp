#include "nodulecad/pipeline/model_bundle.hpp"

#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/core/interrupt.hpp"
#include "nodulecad/model/detector3d_config.hpp"
#include "nodulecad/version.hpp"

namespace nodulecad {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// The lung segmentations a bundle may name (infer runs the robust one only).
constexpr EnumName<LungMethod> kLungMethodRunNames[] = {{LungMethod::Robust, "robust"}};

json lungs_json(const LungSegmentationOptions& o) {
    return {{"method", "robust"},
            {"air_threshold_hu", o.air_threshold_hu},
            {"closing_radius_mm", o.closing_radius_mm},
            {"max_hole_mm2", o.max_hole_mm2},
            {"min_lung_ml", o.min_lung_ml}};
}

// A name of `table` from the card, or an Error naming the card, the field and the choices.
template <class E, std::size_t N> E card_enum(const std::string& card, const char* field, const std::string& name, const EnumName<E> (&table)[N]) {
    if (const auto v = enum_from_name(name, table)) return *v;
    fail(card, std::string("bad model bundle card: ") + field + " must be " + enum_choices(table) + ", got \"" + name + "\"");
}

LungSegmentationOptions lungs_from_json(const json& j, const std::string& card) {
    LungSegmentationOptions o;
    card_enum(card, "lungs.method", j.value("method", std::string("robust")), kLungMethodRunNames);
    o.air_threshold_hu = j.value("air_threshold_hu", o.air_threshold_hu);
    o.closing_radius_mm = j.value("closing_radius_mm", o.closing_radius_mm);
    o.max_hole_mm2 = j.value("max_hole_mm2", o.max_hole_mm2);
    o.min_lung_ml = j.value("min_lung_ml", o.min_lung_ml);
    return o;
}

// Copies a network into the bundle under `name` (atomically: a copy, then a rename).
void copy_network(const std::string& from, const fs::path& to) {
    std::error_code ec;
    if (!fs::is_regular_file(from, ec)) fail(from, "network not found for the model bundle");
    const fs::path tmp = to.string() + ".tmp-" + std::to_string(::getpid()) + "-0";  // remove_stale_temporaries knows the name
    const PendingTemporary pending(tmp.string());  // removed should the process be interrupted before the rename
    fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
    if (!ec) fs::rename(tmp, to, ec);
    if (ec) {
        fs::remove(tmp);
        fail(to.string(), "cannot write the network: " + ec.message());
    }
}

// The bundle's network `key` (file <key>.pt): copied from `from` and named in the card, or, when `from` is empty,
// a copy left by an earlier bundle in DIR removed.
void place_network(const std::string& dir, json& networks, const std::string& key, const std::string& from) {
    const fs::path to = fs::path(dir) / (key + ".pt");
    if (from.empty()) {
        std::error_code ec;
        fs::remove(to, ec);
        return;
    }
    copy_network(from, to);
    networks[key] = key + ".pt";
}

// A network the card names, as a path next to the card; Error when it is missing.
std::string network_path(const fs::path& dir, const json& networks, const char* key, const std::string& card) {
    const std::string name = networks.at(key).get<std::string>();
    if (name.empty() || fs::path(name).has_parent_path()) fail(card, std::string("network \"") + key + "\" must be a file name in the bundle, got \"" + name + "\"");
    const fs::path p = dir / name;
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) fail(p.string(), std::string("the bundle's ") + key + " network is missing (the card " + card + " names it)");
    return p.string();
}

}  // namespace

void write_model_bundle(const std::string& dir, const ModelBundle& b) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) fail(dir, "cannot create the model folder: " + ec.message());
    json networks;
    place_network(dir, networks, "unet", uses_unet(b.detector) ? b.unet : "");
    place_network(dir, networks, "detector3d", uses_detector3d(b.detector) ? b.detector3d : "");
    place_network(dir, networks, "fpr", b.fpr);
    json blobs = b.blobs;
    blobs.erase("max_per_scan");  // the count is the detect rule's blobs_per_scan
    nlohmann::ordered_json card = {{"format", "nodulecad-model"},
                                         {"format_version", kModelBundleFormat},
                                         {"nodulecad_version", version()},
                                         {"detector", enum_name(b.detector, kDetectorNames)},
                                         {"networks", networks},
                                         {"predict", {{"lungs_only", b.lungs_only}}},
                                         {"lungs", lungs_json(b.lungs)},
                                         {"detect", json(b.detect)},
                                         {"blobs", blobs},
                                         {"fpr", {{"combine", enum_name(b.combine, kFprCombineNames)}}}};
    if (uses_detector3d(b.detector)) {
        card["peaks"] = json(b.peaks);
        card["detector3d"] = {{"flips", b.detector3d_flips}};
    }
    write_file_atomically((fs::path(dir) / kModelBundleCard).string(), card.dump(1) + "\n");
}

ModelBundle read_model_bundle(const std::string& dir_or_card) {
    std::error_code ec;
    const bool is_dir = fs::is_directory(dir_or_card, ec);
    const fs::path card = is_dir ? fs::path(dir_or_card) / kModelBundleCard : fs::path(dir_or_card);
    if (!fs::exists(dir_or_card, ec)) fail(dir_or_card, "model bundle not found (run or demo writes one as WORK/model)");
    if (!fs::is_regular_file(card, ec)) fail(card.string(), "not a model bundle: no card (model.json) here");
    json j;
    try {
        j = json::parse(read_file(card.string()));
    } catch (const json::exception& e) {
        fail(card.string(), std::string("not a model bundle card: ") + e.what());
    }
    if (!j.is_object() || j.value("format", std::string()) != "nodulecad-model") fail(card.string(), "not a nodulecad model bundle card");
    const int format = j.value("format_version", 0);
    const std::string made_by = j.value("nodulecad_version", std::string("?"));
    if (format < kOldestModelBundleFormat || format > kModelBundleFormat)
        fail(card.string(), "bundle format " + std::to_string(format) + " (written by nodulecad " + made_by + "); this nodulecad " + version() +
                                " reads formats " + std::to_string(kOldestModelBundleFormat) + "-" + std::to_string(kModelBundleFormat) +
                                " — re-run `run`/`demo` with this version, or use the one that wrote it");
    ModelBundle b;
    b.card = card.string();
    try {
        b.version = made_by;
        b.detector = card_enum(card.string(), "detector", j.at("detector").get<std::string>(), kDetectorNames);
        const json& networks = j.at("networks");
        if (uses_unet(b.detector)) b.unet = network_path(card.parent_path(), networks, "unet", card.string());
        if (uses_detector3d(b.detector)) {
            b.detector3d = network_path(card.parent_path(), networks, "detector3d", card.string());
            j.at("peaks").get_to(b.peaks);
            if (j.contains("detector3d")) b.detector3d_flips = j.at("detector3d").value("flips", 1);
            require_between("detector3d.flips", b.detector3d_flips, 1, kMaxDetector3dFlips);
        }
        if (networks.contains("fpr")) b.fpr = network_path(card.parent_path(), networks, "fpr", card.string());
        b.lungs_only = j.at("predict").value("lungs_only", true);
        b.lungs = lungs_from_json(j.at("lungs"), card.string());
        // Checked here, so that an unknown value is named with the card (from_json's own check names only the key).
        if (j.at("detect").contains("score"))
            card_enum(card.string(), "detect.score", j.at("detect").at("score").get<std::string>(), kCandidateScoreNames);
        j.at("detect").get_to(b.detect);
        j.at("blobs").get_to(b.blobs);
        b.blobs.max_per_scan = b.detect.blobs_per_scan;
        b.combine = card_enum(card.string(), "fpr.combine", j.at("fpr").at("combine").get<std::string>(), kFprCombineNames);
    } catch (const json::exception& e) {
        fail(card.string(), std::string("bad model bundle card: ") + e.what());
    }
    try {
        b.blobs.check();
    } catch (const Error& e) {
        fail(card.string(), std::string("bad model bundle card: ") + e.what());
    }
    return b;
}

}  // namespace nodulecad
