#include "nodulecad/evaluate/localisation.hpp"

#include <cmath>
#include <map>

namespace nodulecad {

std::vector<NoduleError> pair_nodules(const std::vector<Annotation>& nodules, const std::vector<Candidate>& candidates, double max_distance_mm) {
    std::map<std::string, std::vector<const Candidate*>> by_scan;
    for (const auto& c : candidates) by_scan[c.seriesuid].push_back(&c);
    std::vector<NoduleError> out;
    for (const auto& a : nodules) {
        NoduleError e;
        e.nodule = a;
        const double reach = max_distance_mm > 0 ? max_distance_mm : a.diameter_mm / 2;
        double best = std::numeric_limits<double>::infinity();
        for (const Candidate* c : by_scan[a.seriesuid]) {
            const double d = std::sqrt(std::pow(c->world[0] - a.world[0], 2) + std::pow(c->world[1] - a.world[1], 2) + std::pow(c->world[2] - a.world[2], 2));
            if (d <= reach && d < best) {
                best = d;
                e.matched = true;
                e.candidate = *c;
            }
        }
        if (e.matched) {
            e.distance = best;
            for (int ax = 0; ax < 3; ++ax) e.error[static_cast<std::size_t>(ax)] = e.candidate.world[static_cast<std::size_t>(ax)] - a.world[static_cast<std::size_t>(ax)];
            if (std::isfinite(e.candidate.diameter_mm)) e.diameter_error = e.candidate.diameter_mm - a.diameter_mm;
        }
        out.push_back(e);
    }
    return out;
}

ErrorSummary summarize_errors(const std::vector<NoduleError>& errors) {
    ErrorSummary s;
    std::array<double, 4> sum{}, sq{};
    for (const auto& e : errors) {
        ++s.nodules;
        if (!e.matched) continue;
        ++s.matched;
        const std::array<double, 4> v{e.error[0], e.error[1], e.error[2], e.diameter_error};
        for (std::size_t k = 0; k < 4; ++k)
            if (std::isfinite(v[k])) {
                ++s.stats[k].count;
                sum[k] += v[k];
                sq[k] += v[k] * v[k];
            }
    }
    for (std::size_t k = 0; k < 4; ++k) {
        ErrorStats& st = s.stats[k];
        if (st.count == 0) continue;
        const double n = st.count;
        st.mean = sum[k] / n;
        st.mse = sq[k] / n;
        st.sd = std::sqrt(std::max(0.0, st.mse - st.mean * st.mean));
    }
    return s;
}

}  // namespace nodulecad
