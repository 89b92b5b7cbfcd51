// nodulecad evaluate: LUNA16 FROC / CPM, exactly the official rules, with a bootstrap interval and plots.
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "nodulecad/core/stopwatch.hpp"
#include "nodulecad/core/warnings.hpp"
#include "nodulecad/io/tables.hpp"
#include "nodulecad/report/evaluation_folder.hpp"
#include "nodulecad/synth/manifest.hpp"

namespace nodulecad::cli {

std::string mark_budgets_line(const std::vector<MarkBudgetYield>& ys) {
    if (ys.empty()) return "";
    std::string ks, hits, means;
    for (const MarkBudgetYield& y : ys) {
        const std::string sep = ks.empty() ? "" : " / ";
        char mean[32];
        std::snprintf(mean, sizeof mean, "%.1f", y.mean_marks);
        ks += sep + std::to_string(y.marks_per_scan);
        hits += sep + std::to_string(y.detected);
        means += sep + mean;
    }
    return "the first " + ks + " marks of a scan hit " + hits + " of " + std::to_string(ys.front().nodules) + " nodules (" + means +
           " a scan on the mean)";
}

namespace {

// Tables the official rules accept but that are most likely a mistake: said on stderr, scored all the same.
void warn_about_tables(const EvaluationOptions& a) {
    const std::vector<std::string> uids = read_seriesuids(a.seriesuids);
    std::set<std::string> listed;
    for (const std::string& u : uids)
        if (!listed.insert(u).second) warn("", a.seriesuids + " lists " + u + " more than once (counted once)");
    // Nodules on scans the list leaves out are not scored, as the official evaluator does: usual (one fold's scans
    // against the whole annotations.csv), so not warned of.
    std::size_t on = 0, not_positive = 0;
    for (const Annotation& n : read_annotations(a.annotations)) {
        if (!listed.count(n.seriesuid)) continue;
        ++on;
        not_positive += n.diameter_mm > 0 ? 0 : 1;
    }
    if (not_positive > 0)
        warn(a.annotations, std::to_string(not_positive) + " nodules on the listed scans have a diameter that is not positive (no candidate can hit them)");
    if (on == 0)
        warn("", "no nodule of " + a.annotations + " is on the scans " + a.seriesuids + " lists: sensitivities and the CPM are undefined (shown as 0)");
}

void run_evaluate(const EvaluationOptions& a) {
    warn_about_tables(a);
    const Stopwatch watch;
    const EvaluationResult e = write_evaluation(a);
    const FrocResult& r = e.froc;
    const FrocBootstrap& b = e.bootstrap;
    const double seconds = watch.seconds();
    std::printf("CPM %.4f", r.cpm);
    if (a.bootstrap > 0) std::printf(" (95%% CI %.4f-%.4f)", b.cpm_lo, b.cpm_hi);
    std::printf(" — %lld/%lld nodules found, %lld false positives over %lld scans (%.2f s) -> %s\n", static_cast<long long>(r.detected),
                static_cast<long long>(r.nodules), static_cast<long long>(r.false_positives), static_cast<long long>(r.scans), seconds, a.out.c_str());
    for (const GroupSensitivity& g : e.subgroups)
        std::fprintf(stderr, "  %-8s %-13s %4lld nodules: sensitivity %.3f / %.3f / %.3f at 1 / 2 / 8 FPs per scan\n", g.family.c_str(), g.name.c_str(),
                     static_cast<long long>(g.nodules), g.sensitivity[0], g.sensitivity[1], g.sensitivity[2]);
    std::fprintf(stderr, "  %s\n", mark_budgets_line(e.within_budgets).c_str());
}

}  // namespace

void register_evaluate(CLI::App& app) {
    auto a = std::make_shared<EvaluationOptions>();
    CLI::App* cmd = app.add_subcommand(
        "evaluate",
        "Score candidates with the official LUNA16 protocol: FROC, sensitivities at 1/8..8 FPs per scan and the CPM,\n"
        "with a bootstrap 95% interval over scans; localisation and size errors of the nearest candidate per nodule.\n"
        "Sensitivities at 1, 2 and 8 FPs per scan by diameter (3-4, 4-6, 6-10, 10-20, >= 20 mm) and, for a synthetic\n"
        "cohort, by kind (solid / part-solid / ground-glass) and location (juxtapleural / juxtavascular / isolated).\n"
        "How many nodules each scan's first 10, 30 and 100 marks hit (the measure of a candidate stage).\n"
        "Writes DIR/summary.json, froc.csv, missed_nodules.csv, froc.svg/png, errors.csv, errors.svg/png, subgroups.csv.");
    add_reference_options(cmd, a->annotations, a->excluded, a->seriesuids);
    cmd->add_option("--results", a->results, "Candidates: seriesuid,coordX,coordY,coordZ,probability (other columns ignored)")->required();
    cmd->add_option("--out", a->out, "Output folder")->required();
    cmd->add_option("--bootstrap", a->bootstrap, "Bootstrap resamples (0 = none)")->capture_default_str()->check(CLI::NonNegativeNumber);
    cmd->add_option("--seed", a->seed, "Bootstrap seed")->capture_default_str();
    cmd->add_option("--max-marks", a->max_marks, "Marks kept per scan (LUNA16: 100; 0 = no cap)")->capture_default_str();
    cmd->add_option("--max-distance", a->max_distance, "Error table: pair a nodule with candidates within this many mm (default: its radius)");
    auto manifest = std::make_shared<std::string>();
    cmd->add_option("--manifest", *manifest, "A synth cohort's manifest.json, for sensitivities by kind and location (default: the\n"
                                             "manifest.json beside --annotations when there is one; 'none' for none)");
    cmd->callback([a, manifest] {
        EvaluationOptions o = *a;
        o.manifest = manifest->empty() ? manifest_beside(o.annotations) : *manifest == "none" ? "" : *manifest;
        run_evaluate(o);
    });
}

}  // namespace nodulecad::cli
