#pragma once
// What a candidate stage holds: how many reference nodules each scan's K most probable marks hit, for a few K. This
// is the measure of a first stage ("97 % of the nodules among at most 30 candidates a scan") and the most a second
// stage that re-ranks those K marks can find. A scan keeps its marks strictly above its (K+1)-th highest probability,
// the rule by which LUNA16 keeps 100 (evaluate/froc.hpp), so a tie at the K-th mark keeps fewer; a hit is LUNA16's.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "nodulecad/io/tables.hpp"

namespace nodulecad {

// The budgets `evaluate` reports: a tight first stage, the goal, and LUNA16's own cap.
inline constexpr std::array<int, 3> kMarkBudgets{10, 30, 100};

struct MarkBudgetYield {
    int marks_per_scan = 0;     // the budget K
    double mean_marks = 0;      // marks kept per listed scan on the mean: K or fewer
    std::int64_t nodules = 0;   // reference nodules on the listed scans
    std::int64_t detected = 0;  // of them, hit by a kept mark
};

// One entry per budget, in the order given. Budgets must be positive (std::invalid_argument otherwise).
std::vector<MarkBudgetYield> yield_within_budgets(const std::vector<Annotation>& annotations, const std::vector<Annotation>& excluded,
                                                  const std::vector<std::string>& seriesuids, const std::vector<Candidate>& results,
                                                  const std::vector<int>& budgets);

}  // namespace nodulecad
