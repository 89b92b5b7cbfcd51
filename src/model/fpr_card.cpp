#include <nlohmann/json.hpp>

#include "nodulecad/core/error.hpp"
#include "nodulecad/model/fpr_config.hpp"

namespace nodulecad {

std::int64_t fpr_parameter_count(const FprNetConfig& c) {
    // Each trunk: three levels of two 3x3 (3x3x3) convolutions with batch norm; then two linear layers on the pooled
    // features of the 3 views (2.5d) or the 2 scales (3d).
    const bool cube = c.arch == FprArch::Cube3d;
    const std::int64_t taps = cube ? 27 : 9, in = cube ? 1 : 3, trunks = cube ? 2 : 1, parts = cube ? 2 : 3;
    const auto conv = [&](std::int64_t i, std::int64_t o) { return taps * i * o + o + 2 * o; };
    const std::int64_t w = c.width;
    const std::int64_t trunk = conv(in, w) + conv(w, w) + conv(w, 2 * w) + conv(2 * w, 2 * w) + conv(2 * w, 4 * w) + conv(4 * w, 4 * w);
    const std::int64_t features = parts * 4 * w, hidden = 4 * w;
    return trunks * trunk + features * hidden + hidden + hidden + 1;
}

void FprNetConfig::check() const {
    require_between("width", width, 1, 512);
    if (!(dropout >= 0 && dropout < 1)) throw OptionError("dropout", "must be in [0, 1), got " + shown(dropout));
}

void FprNetConfig::check_patch(const PatchOptions& patch) const {
    if (arch == FprArch::Cube3d && (patch.patch % 4 != 0 || patch.patch < 16))
        throw OptionError("patch", "must be a multiple of 4 of at least 16 for the 3d false-positive reduction, got " + std::to_string(patch.patch));
}

std::size_t fpr_input_floats(const FprNetConfig& c, const PatchOptions& patch) {
    const auto p = static_cast<std::size_t>(patch.patch);
    return c.arch == FprArch::Cube3d ? p * p * p : static_cast<std::size_t>(patch.channels()) * p * p;
}

std::vector<std::int64_t> fpr_batch_shape(const FprNetConfig& c, const PatchOptions& patch, std::int64_t n) {
    const std::int64_t p = patch.patch;
    if (c.arch == FprArch::Cube3d) return {n, 1, p, p, p};
    return {n, patch.channels(), p, p};
}

void fpr_input(const FprNetConfig& c, const std::uint8_t* cube, const PatchOptions& patch, const Augment& aug, float* out) {
    if (c.arch == FprArch::Cube3d)
        cube_crop(cube, patch, aug, out);
    else
        cube_views(cube, patch, aug, out);
}

// "arch" is new: cards and run configs written before it are 2.5d.
void to_json(nlohmann::json& j, const FprNetConfig& c) { j = {{"arch", enum_name(c.arch, kFprArchNames)}, {"width", c.width}, {"dropout", c.dropout}}; }

void from_json(const nlohmann::json& j, FprNetConfig& c) {
    if (j.contains("arch")) c.arch = parse_enum("arch", j.at("arch").get<std::string>(), kFprArchNames);
    c.width = j.value("width", c.width);
    c.dropout = j.value("dropout", c.dropout);
}

std::string FprCard::to_json() const {
    const nlohmann::ordered_json j = {{"kind", "fpr"},
                                      {"net", nlohmann::json(net)},
                                      {"patch", nlohmann::json(patch)},
                                      {"epoch", epoch},
                                      {"best_val_auc", best_val_auc},
                                      {"symmetries", symmetries},
                                      {"train_positives", train_positives},
                                      {"train_negatives", train_negatives}};
    return j.dump();
}

FprCard FprCard::from_json(const std::string& text, const std::string& source) {
    try {
        const auto j = nlohmann::json::parse(text);
        if (j.value("kind", std::string("unet")) != "fpr")
            fail(source, "this is a U-Net checkpoint, not a false-positive-reduction model (make one with nodulecad train-fpr)");
        FprCard c;
        j.at("net").get_to(c.net);
        j.at("patch").get_to(c.patch);
        c.epoch = j.at("epoch").get<int>();
        c.best_val_auc = j.at("best_val_auc").get<double>();
        c.symmetries = j.value("symmetries", 1);  // models from before test-time augmentation
        require_between("symmetries", c.symmetries, 1, kCubeSymmetries);
        c.train_positives = j.at("train_positives").get<std::int64_t>();
        c.train_negatives = j.at("train_negatives").get<std::int64_t>();
        c.net.check();
        c.patch.check();
        c.net.check_patch(c.patch);
        return c;
    } catch (const nlohmann::json::exception& e) {
        fail(source, std::string("not a nodulecad FPR model card: ") + e.what());
    } catch (const Error& e) {
        fail(source, std::string("bad FPR model card: ") + e.what());
    }
}

}  // namespace nodulecad
