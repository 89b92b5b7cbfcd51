// nodulecad detect --pred PRED --out candidates.csv: nodule candidates in world mm from probability volumes.
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "core/files.hpp"
#include "core/threads.hpp"
#include "detect/candidates.hpp"
#include "io/cohort_layout.hpp"
#include "io/csv.hpp"
#include "io/metaimage.hpp"
#include "io/text_numbers.hpp"

namespace nodulecad::cli {

void register_detect(CLI::App& app) {
    auto o = std::make_shared<DetectOptions>();
    o->threads = default_thread_count();
    auto pred = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    auto submission = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand(
        "detect",
        "Turn probability volumes (PRED/<uid>_prob.mhd from predict) into candidates: threshold, 26-connected components,\n"
        "probability-weighted centroid in world mm, equivalent-sphere diameter, probability = max (or --mean) in the\n"
        "component, size filters, at most --max-per-scan by probability. Writes seriesuid,coordX,coordY,coordZ,probability,diameter_mm.");
    cmd->add_option("--pred", *pred, "Folder of <uid>_prob.mhd")->required();
    cmd->add_option("--out", *out, "Output candidates CSV")->required();
    cmd->add_option("--threshold", o->threshold, "Probability threshold")->capture_default_str()->check(CLI::Range(0.0, 1.0));
    cmd->add_flag("--mean", o->mean_probability, "Candidate probability = mean in the component instead of max");
    cmd->add_option("--min-voxels", o->min_voxels, "Drop smaller components")->capture_default_str();
    cmd->add_option("--min-diameter", o->min_diameter_mm, "Drop candidates under this equivalent diameter (mm)")->capture_default_str();
    cmd->add_option("--max-diameter", o->max_diameter_mm, "Drop candidates over this equivalent diameter (mm; 0 = none)")->capture_default_str();
    cmd->add_option("--max-per-scan", o->max_per_scan, "At most this many per scan, by probability (LUNA16: 100; 0 = all)")->capture_default_str();
    cmd->add_option("--threads", o->threads, "Threads")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_flag("--submission", *submission, "LUNA16 / Tianchi submission: exactly seriesuid,coordX,coordY,coordZ,probability");
    cmd->callback([o, pred, out, submission] {
        namespace fs = std::filesystem;
        const std::vector<ScanFile> files = find_predictions(*pred);
        std::string csv = *submission ? "seriesuid,coordX,coordY,coordZ,probability\n" : "seriesuid,coordX,coordY,coordZ,probability,diameter_mm\n";
        std::size_t total = 0;
        for (const ScanFile& f : files) {
            const std::string& uid = f.uid;
            for (const auto& d : detect_candidates(uid, probability_volume(read_metaimage(f.path)), *o)) {
                const Candidate& c = d.candidate;
                std::vector<std::string> row{uid, format_double(c.world[0]), format_double(c.world[1]), format_double(c.world[2]), format_double(c.probability)};
                if (!*submission) row.push_back(format_double(c.diameter_mm));
                csv += format_csv_row(row);
                ++total;
            }
        }
        const fs::path parent = fs::path(*out).parent_path();
        if (!parent.empty()) fs::create_directories(parent);
        write_file_atomically(*out, csv);
        std::cerr << "detect: " << total << " candidates from " << files.size() << " scans -> " << *out << "\n";
    });
}

}  // namespace nodulecad::cli
