// nodulecad report: one self-contained HTML file from a run and an evaluation.
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/report/html_report.hpp"

namespace nodulecad::cli {

void register_report(CLI::App& app) {
    auto in = std::make_shared<ReportInputs>();
    auto out = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand(
        "report",
        "Write one self-contained HTML report (no network, images inline): CPM with its interval and the FROC, the error\n"
        "plot, training curves and configuration, and a gallery of true positives, false positives and misses.");
    cmd->add_option("--eval", in->eval_dir, "Folder from nodulecad evaluate")->required();
    cmd->add_option("--run", in->run_dir, "Run folder from nodulecad train (training curves, configuration)");
    cmd->add_option("--data", in->data_dir, "Scans, for the gallery");
    cmd->add_option("--pred", in->pred_dir, "Predictions from nodulecad predict, drawn over the gallery slices");
    cmd->add_option("--gallery", in->gallery_per_kind, "Pictures per kind")->capture_default_str();
    cmd->add_option("--out", *out, "Output .html")->required();
    cmd->callback([in, out] {
        const std::filesystem::path parent = std::filesystem::path(*out).parent_path();
        if (!parent.empty()) std::filesystem::create_directories(parent);
        write_file_atomically(*out, build_report(*in));
        std::cerr << "wrote " << *out << "\n";
    });
}

}  // namespace nodulecad::cli
