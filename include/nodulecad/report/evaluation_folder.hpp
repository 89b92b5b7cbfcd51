#pragma once
// An evaluation folder (what `nodulecad evaluate` writes, and what `report` reads): the official LUNA16 FROC / CPM
// with a bootstrap interval, the localisation and size errors, and their plots:
//   DIR/summary.json, froc.csv, missed_nodules.csv, froc.svg/png, errors.csv, errors.svg/png
#include <cstdint>
#include <string>

#include "nodulecad/evaluate/froc.hpp"

namespace nodulecad {

struct EvaluationOptions {
    std::string annotations, excluded, seriesuids, results, out;
    int bootstrap = 1000;
    std::uint64_t seed = 0;
    int max_marks = 100;
    double max_distance = 0;  // error table: pair within this many mm (0 = the nodule's radius)
};

struct EvaluationResult {
    FrocResult froc;
    FrocBootstrap bootstrap;
};

EvaluationResult write_evaluation(const EvaluationOptions& opts);

}  // namespace nodulecad
