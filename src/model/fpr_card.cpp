#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "model/fpr_config.hpp"

namespace nodulecad {

std::int64_t fpr_parameter_count(const FprNetConfig& c, int in_per_view) {
    // Three levels of two 3x3 convolutions with batch norm; then two linear layers on the 3 views' pooled features.
    const auto conv = [](std::int64_t in, std::int64_t out) { return 9 * in * out + out + 2 * out; };
    const std::int64_t w = c.width;
    std::int64_t n = conv(in_per_view, w) + conv(w, w) + conv(w, 2 * w) + conv(2 * w, 2 * w) + conv(2 * w, 4 * w) + conv(4 * w, 4 * w);
    const std::int64_t features = 3 * 4 * w, hidden = 4 * w;
    return n + features * hidden + hidden + hidden + 1;
}

std::string FprCard::to_json() const {
    const nlohmann::ordered_json j = {
        {"kind", "fpr"},
        {"net", {{"width", net.width}, {"dropout", net.dropout}}},
        {"patch", {{"patch", patch.patch}, {"patch_mm", patch.patch_mm}, {"slab", patch.slab}, {"max_shift", patch.max_shift},
                   {"window", {patch.window_lo, patch.window_hi}}}},
        {"epoch", epoch}, {"best_val_auc", best_val_auc}, {"symmetries", symmetries},
        {"train_positives", train_positives}, {"train_negatives", train_negatives}};
    return j.dump();
}

FprCard FprCard::from_json(const std::string& text, const std::string& source) {
    try {
        const auto j = nlohmann::json::parse(text);
        if (j.value("kind", std::string("unet")) != "fpr")
            fail(source, "this is a U-Net checkpoint, not a false-positive-reduction model (make one with nodulecad train-fpr)");
        FprCard c;
        c.net.width = j.at("net").at("width").get<int>();
        c.net.dropout = j.at("net").at("dropout").get<double>();
        const auto& p = j.at("patch");
        c.patch.patch = p.at("patch").get<int>();
        c.patch.patch_mm = p.at("patch_mm").get<double>();
        c.patch.slab = p.at("slab").get<int>();
        c.patch.max_shift = p.at("max_shift").get<int>();
        c.patch.window_lo = p.at("window").at(0).get<double>();
        c.patch.window_hi = p.at("window").at(1).get<double>();
        c.epoch = j.at("epoch").get<int>();
        c.best_val_auc = j.at("best_val_auc").get<double>();
        c.symmetries = j.value("symmetries", 1);  // models from before test-time augmentation
        if (c.symmetries < 1 || c.symmetries > 8) throw Error("symmetries must be 1 to 8");
        c.train_positives = j.at("train_positives").get<std::int64_t>();
        c.train_negatives = j.at("train_negatives").get<std::int64_t>();
        if (c.net.width < 1 || c.net.width > 512) throw Error("network width out of range");
        c.patch.check();
        return c;
    } catch (const nlohmann::json::exception& e) {
        fail(source, std::string("not a nodulecad FPR model card: ") + e.what());
    } catch (const Error& e) {
        fail(source, std::string("bad FPR model card: ") + e.what());
    }
}

}  // namespace nodulecad
