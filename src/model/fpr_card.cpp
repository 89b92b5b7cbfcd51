#include <nlohmann/json.hpp>

#include "nodulecad/core/error.hpp"
#include "nodulecad/model/fpr_config.hpp"

namespace nodulecad {

std::int64_t fpr_parameter_count(const FprNetConfig& c, int in_per_view) {
    // Three levels of two 3x3 convolutions with batch norm; then two linear layers on the 3 views' pooled features.
    const auto conv = [](std::int64_t in, std::int64_t out) { return 9 * in * out + out + 2 * out; };
    const std::int64_t w = c.width;
    std::int64_t n = conv(in_per_view, w) + conv(w, w) + conv(w, 2 * w) + conv(2 * w, 2 * w) + conv(2 * w, 4 * w) + conv(4 * w, 4 * w);
    const std::int64_t features = 3 * 4 * w, hidden = 4 * w;
    return n + features * hidden + hidden + hidden + 1;
}

void FprNetConfig::check() const {
    require_between("width", width, 1, 512);
    if (!(dropout >= 0 && dropout < 1)) throw OptionError("dropout", "must be in [0, 1), got " + shown(dropout));
}

void to_json(nlohmann::json& j, const FprNetConfig& c) { j = {{"width", c.width}, {"dropout", c.dropout}}; }

void from_json(const nlohmann::json& j, FprNetConfig& c) {
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
        require_between("symmetries", c.symmetries, 1, 8);
        c.train_positives = j.at("train_positives").get<std::int64_t>();
        c.train_negatives = j.at("train_negatives").get<std::int64_t>();
        c.net.check();
        c.patch.check();
        return c;
    } catch (const nlohmann::json::exception& e) {
        fail(source, std::string("not a nodulecad FPR model card: ") + e.what());
    } catch (const Error& e) {
        fail(source, std::string("bad FPR model card: ") + e.what());
    }
}

}  // namespace nodulecad
