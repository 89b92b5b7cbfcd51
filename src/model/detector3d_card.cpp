#include <nlohmann/json.hpp>

#include "nodulecad/core/error.hpp"
#include "nodulecad/model/detector3d_config.hpp"
#include "nodulecad/model/unet_config.hpp"

namespace nodulecad {

void Detector3dConfig::check() const {
    require_between("in_channels", in_channels, 1, 64);
    require_between("base_filters", base_filters, 1, 256);
    require_between("depth", depth, 1, 6);
}

std::int64_t detector3d_parameter_count(const Detector3dConfig& c) {
    return unet_body_parameter_count(c.network_channels(), c.base_filters, c.depth, c.batch_norm, 27) + 2 * (c.base_filters + 1);  // two 1x1x1 heads
}

}  // namespace nodulecad

namespace nodulecad {

std::string Detector3dCard::to_json() const {
    nlohmann::ordered_json j = {{"kind", "detector3d"},
                                {"head", enum_name(head, kDetector3dHeadNames)},
                                {"net", {{"in_channels", net.in_channels}, {"base_filters", net.base_filters}, {"depth", net.depth}, {"batch_norm", net.batch_norm}}},
                                {"grid", nlohmann::json(grid)},
                                {"patch", patch},
                                {"epoch", epoch},
                                {"best_score", best_score}};
    // Only when not the default: a card without it (written before it existed) sees the lung window alone.
    if (net.input != Detector3dInput::Lung) j["net"]["input"] = enum_name(net.input, kDetector3dInputNames);
    return j.dump();
}

Detector3dCard Detector3dCard::from_json(const std::string& text, const std::string& source) {
    try {
        const auto j = nlohmann::json::parse(text);
        const std::string kind = j.value("kind", std::string("unet"));
        if (kind != "detector3d") fail(source, "this is a " + kind + " model, not a 3D detector");
        Detector3dCard c;
        if (j.contains("head")) c.head = parse_enum("head", j.at("head").get<std::string>(), kDetector3dHeadNames);
        const auto& n = j.at("net");
        c.net = {n.at("in_channels").get<int>(), n.at("base_filters").get<int>(), n.at("depth").get<int>(), n.at("batch_norm").get<bool>()};
        if (n.contains("input")) c.net.input = parse_enum("input", n.at("input").get<std::string>(), kDetector3dInputNames);
        j.at("grid").get_to(c.grid);
        c.patch = j.at("patch").get<int>();
        c.epoch = j.at("epoch").get<int>();
        c.best_score = j.at("best_score").get<double>();
        c.net.check();
        c.grid.check();
        require_between("patch", c.patch, 8, 512);
        return c;
    } catch (const nlohmann::json::exception& e) {
        fail(source, std::string("not a nodulecad 3D detector card: ") + e.what());
    } catch (const OptionError& e) {
        fail(source, std::string("bad 3D detector card: ") + e.what());
    }
}

}  // namespace nodulecad
