// nodulecad compare: two systems' candidates on the same scans, the CPM difference with a paired bootstrap interval
// and the nodules each finds that the other does not.
#include <array>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/evaluate/paired_froc.hpp"
#include "nodulecad/io/tables.hpp"

namespace nodulecad::cli {

namespace {

struct CompareOptions {
    std::vector<std::string> annotations, excluded, seriesuids, baseline, results;
    std::string out;
    int bootstrap = 1000, max_marks = 100;
    std::uint64_t seed = 0;
};

// Each system over the groups, for the printout and the JSON: the mean CPM (compare_froc's), the mean of the
// groups' sensitivities, the sums of their counts.
struct SystemSummary {
    double cpm = 0;
    std::array<double, 7> sensitivities{};
    std::int64_t scans = 0, nodules = 0, detected = 0, false_positives = 0;
};

SystemSummary summarise(const std::vector<FrocResult>& groups, double mean_cpm) {
    SystemSummary s;
    s.cpm = mean_cpm;
    const double n = static_cast<double>(groups.size());
    for (const auto& r : groups) {
        for (std::size_t k = 0; k < s.sensitivities.size(); ++k) s.sensitivities[k] += r.sensitivities[k] / n;
        s.scans += r.scans;
        s.nodules += r.nodules;
        s.detected += r.detected;
        s.false_positives += r.false_positives;
    }
    return s;
}

std::vector<Annotation> read_tables(const std::vector<std::string>& paths) {
    std::vector<Annotation> all;
    for (const auto& path : paths) {
        auto rows = read_annotations(path);
        all.insert(all.end(), rows.begin(), rows.end());
    }
    return all;
}

std::vector<ComparisonGroup> read_groups(const CompareOptions& o) {
    const std::size_t n = o.seriesuids.size();
    if (o.baseline.size() != n || o.results.size() != n)
        throw OptionError("baseline", "and --results need one file each per --seriesuids file (one group each): got " + std::to_string(n) +
                                         " --seriesuids, " + std::to_string(o.baseline.size()) + " --baseline, " + std::to_string(o.results.size()) +
                                         " --results");
    std::vector<ComparisonGroup> groups(n);
    for (std::size_t g = 0; g < n; ++g) groups[g] = {read_seriesuids(o.seriesuids[g]), read_results(o.baseline[g]), read_results(o.results[g])};
    return groups;
}

nlohmann::json nodules_json(const std::vector<Annotation>& nodules) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& n : nodules)
        j.push_back({{"seriesuid", n.seriesuid}, {"coordX", n.world[0]}, {"coordY", n.world[1]}, {"coordZ", n.world[2]}, {"diameter_mm", n.diameter_mm}});
    return j;
}

// One file: its path; several (one per group): their list.
nlohmann::json paths_json(const std::vector<std::string>& paths) { return paths.size() == 1 ? nlohmann::json(paths[0]) : nlohmann::json(paths); }

nlohmann::json system_json(const SystemSummary& s, const std::vector<std::string>& paths, double lo, double hi) {
    return {{"results", paths_json(paths)}, {"cpm", s.cpm}, {"cpm_ci", {lo, hi}}, {"sensitivities", s.sensitivities},
            {"detected", s.detected}, {"false_positives", s.false_positives}};
}

std::string joined(const std::vector<std::string>& paths) {
    std::string s;
    for (const auto& p : paths) s += (s.empty() ? "" : ", ") + p;
    return s;
}

void run_compare(const CompareOptions& o) {
    const auto groups = read_groups(o);
    const PairedFroc p = compare_froc(read_tables(o.annotations), read_tables(o.excluded), groups, o.bootstrap, o.seed, 0.95, o.max_marks);
    const SystemSummary a = summarise(p.a, p.a_cpm), b = summarise(p.b, p.b_cpm);
    const bool boot = p.samples > 0, several = groups.size() > 1;
    for (std::size_t g = 0; several && g < groups.size(); ++g)
        std::printf("group %zu (%s): %lld scans, %lld nodules; baseline CPM %.4f (%lld found), results %.4f (%lld found), difference %+.4f\n", g + 1,
                    o.seriesuids[g].c_str(), static_cast<long long>(p.a[g].scans), static_cast<long long>(p.a[g].nodules), p.a[g].cpm,
                    static_cast<long long>(p.a[g].detected), p.b[g].cpm, static_cast<long long>(p.b[g].detected), p.b[g].cpm - p.a[g].cpm);
    const auto line = [&](const char* name, const SystemSummary& s, const std::vector<std::string>& paths, double lo, double hi) {
        std::printf("%s CPM %.4f", name, s.cpm);
        if (several || boot) std::printf(" (");
        if (several) std::printf("mean of %zu groups%s", groups.size(), boot ? "; " : "");
        if (boot) std::printf("95%% CI %.4f-%.4f", lo, hi);
        if (several || boot) std::printf(")");
        std::printf(", %lld/%lld nodules among its candidates — %s\n", static_cast<long long>(s.detected), static_cast<long long>(s.nodules),
                    joined(paths).c_str());
    };
    line("baseline", a, o.baseline, p.a_lo, p.a_hi);
    line("results ", b, o.results, p.b_lo, p.b_hi);
    std::printf("results - baseline: CPM %+.4f", p.difference);
    if (boot)
        std::printf(" (paired 95%% CI %+.4f to %+.4f; results above the baseline in %.1f %% of %d resamples of the %lld scans%s, equal in %.1f %%)",
                    p.lo, p.hi, 100 * p.share_b_higher, p.samples, static_cast<long long>(a.scans),
                    several ? (" within each of the " + std::to_string(groups.size()) + " groups").c_str() : "", 100 * p.share_equal);
    std::printf("\nnodules: %lld found by both, %zu by the baseline only, %zu by the results only, %lld by neither\n",
                static_cast<long long>(p.found_by_both), p.found_by_a_only.size(), p.found_by_b_only.size(), static_cast<long long>(p.found_by_neither));
    if (o.out.empty()) return;
    nlohmann::json j;
    j["baseline"] = system_json(a, o.baseline, p.a_lo, p.a_hi);
    j["results"] = system_json(b, o.results, p.b_lo, p.b_hi);
    j["difference"] = {{"cpm", p.difference}, {"cpm_ci", {p.lo, p.hi}}, {"sensitivities", p.sensitivity_difference},
                       {"share_results_higher", p.share_b_higher}, {"share_equal", p.share_equal}};
    j["bootstrap"] = {{"samples", p.samples}, {"seed", o.seed}, {"confidence", 0.95}};
    j["scans"] = a.scans;
    j["nodules"] = a.nodules;
    j["fps_per_scan"] = kFrocPoints;
    j["groups"] = nlohmann::json::array();
    for (std::size_t g = 0; g < groups.size(); ++g)
        j["groups"].push_back({{"seriesuids", o.seriesuids[g]}, {"scans", p.a[g].scans}, {"nodules", p.a[g].nodules},
                               {"baseline", {{"results", o.baseline[g]}, {"cpm", p.a[g].cpm}, {"detected", p.a[g].detected}}},
                               {"results", {{"results", o.results[g]}, {"cpm", p.b[g].cpm}, {"detected", p.b[g].detected}}},
                               {"difference", p.b[g].cpm - p.a[g].cpm}});
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
        "Several groups (each training seed's held-out scans and its two systems' candidates): each group is scored on\n"
        "its own and the systems compared by the mean of the groups' CPMs, the bootstrap resampling scans within each\n"
        "group (one pooled FROC would rank one run's probabilities against another run's). Prints a summary; --out\n"
        "writes it all as JSON.");
    add_reference_options(cmd, o->annotations, o->excluded, o->seriesuids,
                          "; several files: one group each\n"
                          "(a run's held-out scans), each with its own --baseline and --results file, in the same order");
    cmd->add_option("--baseline", o->baseline, "The reference system's candidates: seriesuid,coordX,coordY,coordZ,probability (one file per group)")->required();
    cmd->add_option("--results", o->results, "The system compared with it, same columns (one file per group)")->required();
    cmd->add_option("--out", o->out, "Write the comparison as JSON to this file");
    cmd->add_option("--bootstrap", o->bootstrap, "Bootstrap resamples (0 = none)")->capture_default_str()->check(CLI::NonNegativeNumber);
    cmd->add_option("--seed", o->seed, "Bootstrap seed")->capture_default_str();
    cmd->add_option("--max-marks", o->max_marks, "Marks kept per scan (LUNA16: 100; 0 = no cap)")->capture_default_str();
    cmd->callback([o] { run_compare(*o); });
}

}  // namespace nodulecad::cli
