#include "nodulecad/report/evaluation_folder.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "nodulecad/core/files.hpp"
#include "nodulecad/evaluate/localisation.hpp"
#include "nodulecad/io/csv.hpp"
#include "nodulecad/io/png.hpp"
#include "nodulecad/io/tables.hpp"
#include "nodulecad/io/text_numbers.hpp"
#include "nodulecad/report/error_plot.hpp"
#include "nodulecad/report/froc_plot.hpp"
#include "nodulecad/synth/manifest.hpp"

namespace nodulecad {

namespace {

// The diameter bins, and with a manifest the kinds and locations of the nodules it knows. `unmatched` gets the
// annotations the manifest does not hold.
std::vector<NoduleGroup> nodule_groups(const std::vector<Annotation>& ann, const std::string& manifest, std::int64_t& unmatched) {
    std::vector<NoduleGroup> groups = diameter_groups(ann);
    unmatched = 0;
    if (manifest.empty()) return groups;
    const std::vector<ManifestNodule> nodules = read_manifest_nodules(manifest);
    const std::vector<long> match = match_manifest(ann, nodules);
    std::vector<NoduleGroup> kinds, places;
    const auto add = [](std::vector<NoduleGroup>& list, const char* family, const std::string& name, std::size_t i) {
        auto it = std::find_if(list.begin(), list.end(), [&](const NoduleGroup& g) { return g.name == name; });
        if (it == list.end()) it = list.insert(list.end(), NoduleGroup{family, name, {}});
        it->members.push_back(i);
    };
    for (const char* k : {"solid", "part-solid", "ground-glass"}) kinds.push_back({"kind", k, {}});
    for (const char* l : {"juxtapleural", "juxtavascular", "isolated"}) places.push_back({"location", l, {}});
    for (std::size_t i = 0; i < ann.size(); ++i) {
        if (match[i] < 0) {
            ++unmatched;
            continue;
        }
        const ManifestNodule& n = nodules[static_cast<std::size_t>(match[i])];
        add(kinds, "kind", n.kind, i);
        add(places, "location", n.location(), i);
    }
    for (auto* list : {&kinds, &places})
        for (auto& g : *list)
            if (!g.members.empty()) groups.push_back(std::move(g));
    return groups;
}

std::string subgroups_csv(const std::vector<GroupSensitivity>& groups) {
    std::string t = "family,group,nodules,detected,sensitivity_1fp,sensitivity_2fp,sensitivity_8fp\n";
    for (const auto& g : groups)
        t += format_csv_row({g.family, g.name, std::to_string(g.nodules), std::to_string(g.detected), format_double(g.sensitivity[0]),
                             format_double(g.sensitivity[1]), format_double(g.sensitivity[2])});
    return t;
}

}  // namespace

EvaluationResult write_evaluation(const EvaluationOptions& a) {
    const auto ann = read_annotations(a.annotations);
    const auto exc = a.excluded.empty() ? std::vector<Annotation>{} : read_annotations(a.excluded);
    const auto uids = read_seriesuids(a.seriesuids);
    const auto res = read_results(a.results);
    const FrocResult r = evaluate_froc(ann, exc, uids, res, a.max_marks);
    const FrocBootstrap b = bootstrap_froc(r, a.bootstrap, a.seed);
    namespace fs = std::filesystem;
    fs::create_directories(a.out);

    nlohmann::ordered_json j;
    j["cpm"] = r.cpm;
    j["sensitivities"] = r.sensitivities;
    j["fps_per_scan"] = kFrocPoints;
    if (a.bootstrap > 0) {
        j["cpm_ci"] = {b.cpm_lo, b.cpm_hi};
        nlohmann::json ci = nlohmann::json::array();
        for (std::size_t k = 0; k < 7; ++k) ci.push_back({b.lo[k], b.hi[k]});
        j["sensitivities_ci"] = ci;
        j["bootstrap"] = {{"samples", a.bootstrap}, {"seed", a.seed}, {"confidence", 0.95}};
    }
    j["tp"] = r.detected;
    j["fp"] = r.false_positives;
    j["fn"] = r.missed;
    j["double_detections"] = r.double_detections;
    j["ignored_on_excluded"] = r.ignored_on_excluded;
    j["marks_dropped_by_cap"] = r.marks_dropped_by_cap;
    j["marks_on_unlisted_scans"] = r.marks_on_unlisted_scans;
    j["scans"] = r.scans;
    j["nodules"] = r.nodules;
    // Localisation and size errors of the nearest candidate within each nodule's radius (or --max-distance).
    // Only the listed scans' nodules, like the FROC (the table may hold the whole cohort's annotations).
    const std::set<std::string> listed(uids.begin(), uids.end());
    std::vector<Annotation> listed_ann;
    for (const auto& n : ann)
        if (listed.count(n.seriesuid)) listed_ann.push_back(n);
    const std::vector<NoduleError> errors = pair_nodules(listed_ann, res, a.max_distance);
    const ErrorSummary es = summarize_errors(errors);
    nlohmann::ordered_json loc = {{"nodules", es.nodules}, {"matched", es.matched},
                                  {"max_distance_mm", a.max_distance > 0 ? nlohmann::json(a.max_distance) : nlohmann::json("radius")}};
    const char* names[] = {"x", "y", "z", "diameter"};
    for (std::size_t k = 0; k < 4; ++k)
        loc[names[k]] = {{"count", es.stats[k].count}, {"mean", es.stats[k].mean}, {"sd", es.stats[k].sd}, {"mse", es.stats[k].mse}};
    j["localisation"] = loc;
    std::int64_t unmatched = 0;
    const std::vector<GroupSensitivity> groups = subgroup_sensitivities(ann, exc, uids, res, nodule_groups(ann, a.manifest, unmatched), a.max_marks);
    nlohmann::ordered_json sub = nlohmann::ordered_json::array();
    for (const auto& g : groups)
        sub.push_back({{"family", g.family}, {"group", g.name}, {"nodules", g.nodules}, {"detected", g.detected}, {"fps_per_scan", kSubgroupFps},
                       {"sensitivities", g.sensitivity}});
    j["subgroups"] = sub;
    const std::vector<MarkBudgetYield> budgets = yield_within_budgets(ann, exc, uids, res, {kMarkBudgets.begin(), kMarkBudgets.end()});
    nlohmann::ordered_json within = nlohmann::ordered_json::array();
    for (const auto& y : budgets)
        within.push_back({{"marks_per_scan", y.marks_per_scan}, {"mean_marks", y.mean_marks}, {"nodules", y.nodules}, {"detected", y.detected}});
    j["nodules_within_marks"] = within;
    if (!a.manifest.empty()) j["manifest_unmatched"] = unmatched;
    j["inputs"] = {{"annotations", a.annotations}, {"excluded", a.excluded}, {"seriesuids", a.seriesuids}, {"results", a.results}, {"manifest", a.manifest}};
    write_file_atomically((fs::path(a.out) / "summary.json").string(), j.dump(1) + "\n");

    std::string froc = "fps_per_scan,sensitivity,threshold\n";
    for (std::size_t i = 0; i < r.curve.fps.size(); ++i)
        froc += format_csv_row({format_double(r.curve.fps[i]), format_double(r.curve.sensitivity[i]),
                                std::isinf(r.curve.threshold[i]) ? "inf" : format_double(r.curve.threshold[i])});
    write_file_atomically((fs::path(a.out) / "froc.csv").string(), froc);
    write_annotations((fs::path(a.out) / "missed_nodules.csv").string(), r.missed_nodules);
    std::string table = "seriesuid,coordX,coordY,coordZ,diameter_mm,matched,cand_x,cand_y,cand_z,cand_diameter_mm,probability,error_x,error_y,error_z,error_diameter,distance\n";
    const auto numstr = [](double v) { return std::isfinite(v) ? format_double(v) : std::string(); };
    for (const auto& e : errors)
        table += format_csv_row({e.nodule.seriesuid, format_double(e.nodule.world[0]), format_double(e.nodule.world[1]), format_double(e.nodule.world[2]),
                                 format_double(e.nodule.diameter_mm), e.matched ? "1" : "0", e.matched ? format_double(e.candidate.world[0]) : "",
                                 e.matched ? format_double(e.candidate.world[1]) : "", e.matched ? format_double(e.candidate.world[2]) : "",
                                 e.matched ? numstr(e.candidate.diameter_mm) : "", e.matched ? format_double(e.candidate.probability) : "",
                                 e.matched ? format_double(e.error[0]) : "", e.matched ? format_double(e.error[1]) : "",
                                 e.matched ? format_double(e.error[2]) : "", numstr(e.diameter_error), numstr(e.distance)});
    write_file_atomically((fs::path(a.out) / "errors.csv").string(), table);
    write_file_atomically((fs::path(a.out) / "subgroups.csv").string(), subgroups_csv(groups));
    write_file_atomically((fs::path(a.out) / "errors.svg").string(), error_plot_svg(errors));
    write_png((fs::path(a.out) / "errors.png").string(), error_plot_png(errors));
    write_file_atomically((fs::path(a.out) / "froc.svg").string(), froc_svg(r, a.bootstrap > 0 ? &b : nullptr, "FROC"));
    write_png((fs::path(a.out) / "froc.png").string(), froc_png(r, a.bootstrap > 0 ? &b : nullptr));
    EvaluationResult out;
    out.froc = r;
    out.bootstrap = b;
    out.subgroups = groups;
    out.within_budgets = budgets;
    return out;
}

}  // namespace nodulecad
