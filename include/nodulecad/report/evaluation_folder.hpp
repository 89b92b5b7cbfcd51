#pragma once
// An evaluation folder (what `nodulecad evaluate` writes, and what `report` reads): the official LUNA16 FROC / CPM
// with a bootstrap interval, the localisation and size errors, and their plots:
//   DIR/summary.json, froc.csv, missed_nodules.csv, froc.svg/png, errors.csv, errors.svg/png, subgroups.csv
// Sensitivities at 1, 2 and 8 FPs/scan are given per diameter bin and, with a synth manifest, per kind and location
// (evaluate/subgroups.hpp); how many nodules each scan's first 10, 30 and 100 marks hit (evaluate/mark_budget.hpp).
#include <cstdint>
#include <string>

#include "nodulecad/evaluate/froc.hpp"
#include "nodulecad/evaluate/mark_budget.hpp"
#include "nodulecad/evaluate/subgroups.hpp"

namespace nodulecad {

struct EvaluationOptions {
    std::string annotations, excluded, seriesuids, results, out;
    std::string manifest;     // a synth cohort's manifest.json: sensitivities by kind and location too ("" = none)
    int bootstrap = 1000;
    std::uint64_t seed = 0;
    int max_marks = 100;
    double max_distance = 0;  // error table: pair within this many mm (0 = the nodule's radius)
};

struct EvaluationResult {
    FrocResult froc;
    FrocBootstrap bootstrap;
    std::vector<GroupSensitivity> subgroups;
    std::vector<MarkBudgetYield> within_budgets;  // at kMarkBudgets
};

EvaluationResult write_evaluation(const EvaluationOptions& opts);

}  // namespace nodulecad
