#include <nlohmann/json.hpp>

#include "nodulecad/core/error.hpp"
#include "nodulecad/model/unet_config.hpp"

namespace nodulecad {

void UNetConfig::check() const {
    require_positive("in_channels", in_channels);
    require_positive("base_filters", base_filters);
    require_between("depth", depth, 1, 8);
}

std::int64_t unet_body_parameter_count(int in_channels, int base_filters, int depth, bool batch_norm, int kernel_taps) {
    const auto conv = [&](std::int64_t in, std::int64_t out) { return kernel_taps * in * out + out + (batch_norm ? 2 * out : 0); };
    std::int64_t n = 0, prev = in_channels;
    for (int l = 0; l < depth; ++l) {
        const std::int64_t f = static_cast<std::int64_t>(base_filters) << l;
        n += conv(prev, f) + conv(f, f);
        prev = f;
    }
    for (int l = depth - 2; l >= 0; --l) {
        const std::int64_t f = static_cast<std::int64_t>(base_filters) << l;
        n += conv(2 * f + f, f) + conv(f, f);  // upsampled (2f) concatenated with the skip (f)
    }
    return n;
}

std::int64_t unet_parameter_count(const UNetConfig& c) {
    return unet_body_parameter_count(c.in_channels, c.base_filters, c.depth, c.batch_norm, 9) + c.base_filters + 1;  // 1x1 head to one channel
}

std::string ModelCard::to_json() const {
    const nlohmann::ordered_json j = {
        {"unet", {{"in_channels", unet.in_channels}, {"base_filters", unet.base_filters}, {"depth", unet.depth}, {"batch_norm", unet.batch_norm}}},
        {"size", size}, {"pixel_mm", pixel_mm}, {"window", {window_lo, window_hi}}, {"context", context},
        {"mask_lungs", mask_lungs}, {"mean", mean}, {"std", std}, {"loss", enum_name(loss, kUNetLossNames)}, {"epoch", epoch}, {"best_val_dice", best_val_dice}};
    return j.dump();
}

ModelCard ModelCard::from_json(const std::string& text, const std::string& source) {
    try {
        const auto j = nlohmann::json::parse(text);
        if (j.value("kind", std::string("unet")) != "unet") fail(source, "this is a " + j.value("kind", std::string()) + " model, not a U-Net");
        ModelCard m;
        const auto& u = j.at("unet");
        m.unet = {u.at("in_channels").get<int>(), u.at("base_filters").get<int>(), u.at("depth").get<int>(), u.at("batch_norm").get<bool>()};
        m.size = j.at("size").get<int>();
        m.pixel_mm = j.at("pixel_mm").get<double>();
        m.window_lo = j.at("window").at(0).get<double>();
        m.window_hi = j.at("window").at(1).get<double>();
        m.context = j.at("context").get<int>();
        m.mask_lungs = j.at("mask_lungs").get<bool>();
        m.mean = j.at("mean").get<double>();
        m.std = j.at("std").get<double>();
        m.loss = parse_enum("loss", j.at("loss").get<std::string>(), kUNetLossNames);
        m.epoch = j.at("epoch").get<int>();
        m.best_val_dice = j.at("best_val_dice").get<double>();
        if (m.unet.in_channels != 2 * m.context + 1) throw Error("in_channels does not match context");
        return m;
    } catch (const nlohmann::json::exception& e) {
        fail(source, std::string("not a nodulecad model card: ") + e.what());
    } catch (const Error& e) {
        fail(source, std::string("bad model card: ") + e.what());
    }
}

}  // namespace nodulecad
