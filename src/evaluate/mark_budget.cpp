#include "nodulecad/evaluate/mark_budget.hpp"

#include <stdexcept>

#include "nodulecad/evaluate/froc.hpp"

namespace nodulecad {

std::vector<MarkBudgetYield> yield_within_budgets(const std::vector<Annotation>& annotations, const std::vector<Annotation>& excluded,
                                                  const std::vector<std::string>& seriesuids, const std::vector<Candidate>& results,
                                                  const std::vector<int>& budgets) {
    std::vector<MarkBudgetYield> out;
    for (const int k : budgets) {
        // 0 would mean "no cap" to the FROC: a budget of nothing is a caller's mistake, not that.
        if (k <= 0) throw std::invalid_argument("a mark budget must be positive, got " + std::to_string(k));
        // The official FROC with a cap of k marks a scan: its detected nodules are those the k marks hit.
        const FrocResult r = evaluate_froc(annotations, excluded, seriesuids, results, k);
        const auto kept = static_cast<std::int64_t>(results.size()) - r.marks_on_unlisted_scans - r.marks_dropped_by_cap;
        out.push_back({k, r.scans > 0 ? static_cast<double>(kept) / static_cast<double>(r.scans) : 0, r.nodules, r.detected});
    }
    return out;
}

}  // namespace nodulecad
