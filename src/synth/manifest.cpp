#include "nodulecad/synth/manifest.hpp"

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"

namespace nodulecad {

namespace fs = std::filesystem;

std::string ManifestNodule::location() const { return juxtapleural ? "juxtapleural" : juxtavascular ? "juxtavascular" : "isolated"; }

std::vector<ManifestNodule> read_manifest_nodules(const std::string& path) {
    std::vector<ManifestNodule> out;
    try {
        const nlohmann::json j = nlohmann::json::parse(read_file(path));
        if (j.value("generator", std::string()) != "nodulecad synth") fail(path, "not a nodulecad synth manifest (no \"generator\": \"nodulecad synth\")");
        for (const auto& scan : j.at("scan_list")) {
            const std::string uid = scan.at("uid").get<std::string>();
            for (const auto& f : scan.at("findings")) {
                if (f.value("list", std::string()) != "annotations") continue;
                ManifestNodule n;
                n.seriesuid = uid;
                const auto c = f.at("annotated_centre").get<std::vector<double>>();
                if (c.size() != 3) fail(path, "scan " + uid + ": annotated_centre must have 3 numbers");
                n.world = {c[0], c[1], c[2]};
                n.diameter_mm = f.at("annotated_diameter").get<double>();
                n.kind = f.at("kind").get<std::string>();
                n.juxtapleural = f.value("juxtapleural", false);
                n.juxtavascular = f.value("juxtavascular", false);
                out.push_back(std::move(n));
            }
        }
    } catch (const nlohmann::json::exception& e) {
        fail(path, std::string("bad synth manifest: ") + e.what());
    }
    return out;
}

std::string manifest_beside(const std::string& annotations) {
    if (annotations.empty()) return "";
    const fs::path p = fs::path(annotations).parent_path() / "manifest.json";
    std::error_code ec;
    return fs::is_regular_file(p, ec) ? p.string() : "";
}

std::vector<long> match_manifest(const std::vector<Annotation>& annotations, const std::vector<ManifestNodule>& nodules) {
    std::multimap<std::string, long> by_uid;
    for (std::size_t i = 0; i < nodules.size(); ++i) by_uid.emplace(nodules[i].seriesuid, static_cast<long>(i));
    std::vector<long> match(annotations.size(), -1);
    for (std::size_t a = 0; a < annotations.size(); ++a) {
        const auto [lo, hi] = by_uid.equal_range(annotations[a].seriesuid);
        for (auto it = lo; it != hi; ++it) {
            const Vec3& w = nodules[static_cast<std::size_t>(it->second)].world;
            const Vec3& v = annotations[a].world;
            if (std::abs(w[0] - v[0]) <= 1e-3 && std::abs(w[1] - v[1]) <= 1e-3 && std::abs(w[2] - v[2]) <= 1e-3) {
                match[a] = it->second;
                break;
            }
        }
    }
    return match;
}

}  // namespace nodulecad
