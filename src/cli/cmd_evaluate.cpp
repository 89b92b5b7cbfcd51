// nodulecad evaluate: LUNA16 FROC / CPM, exactly the official rules, with a bootstrap interval and plots.
#include <chrono>
#include <cstdio>

#include "cli/commands.hpp"
#include "nodulecad/report/evaluation_folder.hpp"

namespace nodulecad::cli {

namespace {

void run_evaluate(const EvaluationOptions& a) {
    const auto t0 = std::chrono::steady_clock::now();
    const EvaluationResult e = write_evaluation(a);
    const FrocResult& r = e.froc;
    const FrocBootstrap& b = e.bootstrap;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("CPM %.4f", r.cpm);
    if (a.bootstrap > 0) std::printf(" (95%% CI %.4f-%.4f)", b.cpm_lo, b.cpm_hi);
    std::printf(" — %lld/%lld nodules found, %lld false positives over %lld scans (%.2f s) -> %s\n", static_cast<long long>(r.detected),
                static_cast<long long>(r.nodules), static_cast<long long>(r.false_positives), static_cast<long long>(r.scans), seconds, a.out.c_str());
}

}  // namespace

void register_evaluate(CLI::App& app) {
    auto a = std::make_shared<EvaluationOptions>();
    CLI::App* cmd = app.add_subcommand(
        "evaluate",
        "Score candidates with the official LUNA16 protocol: FROC, sensitivities at 1/8..8 FPs per scan and the CPM,\n"
        "with a bootstrap 95% interval over scans; localisation and size errors of the nearest candidate per nodule.\n"
        "Writes DIR/summary.json, froc.csv, missed_nodules.csv, froc.svg/png, errors.csv, errors.svg/png.");
    cmd->add_option("--annotations", a->annotations, "Reference nodules: seriesuid,coordX,coordY,coordZ,diameter_mm")->required();
    cmd->add_option("--excluded", a->excluded, "Findings that count neither way (annotations_excluded.csv; diameter -1 = 10 mm)");
    cmd->add_option("--seriesuids", a->seriesuids, "The scans that count (one uid a line)")->required();
    cmd->add_option("--results", a->results, "Candidates: seriesuid,coordX,coordY,coordZ,probability (other columns ignored)")->required();
    cmd->add_option("--out", a->out, "Output folder")->required();
    cmd->add_option("--bootstrap", a->bootstrap, "Bootstrap resamples (0 = none)")->capture_default_str()->check(CLI::NonNegativeNumber);
    cmd->add_option("--seed", a->seed, "Bootstrap seed")->capture_default_str();
    cmd->add_option("--max-marks", a->max_marks, "Marks kept per scan (LUNA16: 100; 0 = no cap)")->capture_default_str();
    cmd->add_option("--max-distance", a->max_distance, "Error table: pair a nodule with candidates within this many mm (default: its radius)");
    cmd->callback([a] { run_evaluate(*a); });
}

}  // namespace nodulecad::cli
