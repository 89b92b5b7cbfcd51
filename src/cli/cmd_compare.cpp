// nodulecad compare: two systems' candidates on the same scans, the CPM difference with a paired bootstrap interval
// and the nodules each finds that the other does not.
#include <cstdio>
#include <memory>
#include <string>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/evaluate/paired_froc.hpp"
#include "nodulecad/io/tables.hpp"

namespace nodulecad::cli {

namespace {

struct CompareOptions {
    std::string annotations, excluded, seriesuids, baseline, results, out;
    int bootstrap = 1000, max_marks = 100;
    std::uint64_t seed = 0;
};

nlohmann::json nodules_json(const std::vector<Annotation>& nodules) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& n : nodules)
        j.push_back({{"seriesuid", n.seriesuid}, {"coordX", n.world[0]}, {"coordY", n.world[1]}, {"coordZ", n.world[2]}, {"diameter_mm", n.diameter_mm}});
    return j;
}

nlohmann::json system_json(const FrocResult& r, const std::string& path, double lo, double hi) {
    return {{"results", path}, {"cpm", r.cpm}, {"cpm_ci", {lo, hi}}, {"sensitivities", r.sensitivities},
            {"detected", r.detected}, {"false_positives", r.false_positives}};
}

void run_compare(const CompareOptions& o) {
    const auto excluded = o.excluded.empty() ? std::vector<Annotation>{} : read_annotations(o.excluded);
    const PairedFroc p = compare_froc(read_annotations(o.annotations), excluded, read_seriesuids(o.seriesuids), read_results(o.baseline),
                                      read_results(o.results), o.bootstrap, o.seed, 0.95, o.max_marks);
    const bool boot = p.samples > 0;
    const auto line = [&](const char* name, const FrocResult& r, const std::string& path, double lo, double hi) {
        std::printf("%s CPM %.4f", name, r.cpm);
        if (boot) std::printf(" (95%% CI %.4f-%.4f)", lo, hi);
        std::printf(", %lld/%lld nodules among its candidates — %s\n", static_cast<long long>(r.detected), static_cast<long long>(r.nodules), path.c_str());
    };
    line("baseline", p.a, o.baseline, p.a_lo, p.a_hi);
    line("results ", p.b, o.results, p.b_lo, p.b_hi);
    std::printf("results - baseline: CPM %+.4f", p.difference);
    if (boot)
        std::printf(" (paired 95%% CI %+.4f to %+.4f; results above the baseline in %.1f %% of %d resamples of the %lld scans, equal in %.1f %%)",
                    p.lo, p.hi, 100 * p.share_b_higher, p.samples, static_cast<long long>(p.a.scans), 100 * p.share_equal);
    std::printf("\nnodules: %lld found by both, %zu by the baseline only, %zu by the results only, %lld by neither\n",
                static_cast<long long>(p.found_by_both), p.found_by_a_only.size(), p.found_by_b_only.size(), static_cast<long long>(p.found_by_neither));
    if (o.out.empty()) return;
    nlohmann::json j;
    j["baseline"] = system_json(p.a, o.baseline, p.a_lo, p.a_hi);
    j["results"] = system_json(p.b, o.results, p.b_lo, p.b_hi);
    j["difference"] = {{"cpm", p.difference}, {"cpm_ci", {p.lo, p.hi}}, {"sensitivities", p.sensitivity_difference},
                       {"share_results_higher", p.share_b_higher}, {"share_equal", p.share_equal}};
    j["bootstrap"] = {{"samples", p.samples}, {"seed", o.seed}, {"confidence", 0.95}};
    j["scans"] = p.a.scans;
    j["nodules"] = p.a.nodules;
    j["fps_per_scan"] = kFrocPoints;
    j["found_by_both"] = p.found_by_both;
    j["found_by_neither"] = p.found_by_neither;
    j["found_by_baseline_only"] = nodules_json(p.found_by_a_only);
    j["found_by_results_only"] = nodules_json(p.found_by_b_only);
    write_file_atomically(o.out, j.dump(1) + "\n");
}

}  // namespace

void register_compare(CLI::App& app) {
    auto o = std::make_shared<CompareOptions>();
    CLI::App* cmd = app.add_subcommand(
        "compare",
        "Compare two systems' candidates on the same scans: both scored by the official LUNA16 rules (as evaluate),\n"
        "the CPM difference (results - baseline) with a paired bootstrap 95% interval over scans (each resample\n"
        "scores both, with evaluate's draws and seed), the share of resamples where the results score higher, and\n"
        "the nodules each finds that the other does not. A difference whose interval holds 0 is not one.\n"
        "Prints a summary; --out writes it all as JSON.");
    add_reference_options(cmd, o->annotations, o->excluded, o->seriesuids);
    cmd->add_option("--baseline", o->baseline, "The reference system's candidates: seriesuid,coordX,coordY,coordZ,probability")->required();
    cmd->add_option("--results", o->results, "The system compared with it, same columns")->required();
    cmd->add_option("--out", o->out, "Write the comparison as JSON to this file");
    cmd->add_option("--bootstrap", o->bootstrap, "Bootstrap resamples (0 = none)")->capture_default_str()->check(CLI::NonNegativeNumber);
    cmd->add_option("--seed", o->seed, "Bootstrap seed")->capture_default_str();
    cmd->add_option("--max-marks", o->max_marks, "Marks kept per scan (LUNA16: 100; 0 = no cap)")->capture_default_str();
    cmd->callback([o] { run_compare(*o); });
}

}  // namespace nodulecad::cli
