#pragma once
// One self-contained HTML report (no network; plots as inline SVG, pictures as data: PNGs): configuration,
// training curves, FROC with the 7 points and CPM with its interval, the error plot, and a gallery of slices with
// overlays for true positives, false positives and misses.
#include <string>

namespace nodulecad {

struct ReportInputs {
    std::string run_dir;   // RUN: config.json, metrics.csv (optional)
    std::string eval_dir;  // DIR from nodulecad evaluate: summary.json, froc.svg, errors.svg, missed_nodules.csv
    std::string pred_dir;  // PRED from nodulecad predict (optional: overlays in the gallery)
    std::string data_dir;  // the scans (optional: the gallery needs them)
    int gallery_per_kind = 4;
};

std::string build_report(const ReportInputs& in);

std::string base64(const std::string& bytes);

}  // namespace nodulecad
