#include "nodulecad/evaluate/subgroups.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "nodulecad/evaluate/froc.hpp"

namespace nodulecad {

namespace {

struct DiameterBin {
    double lo, hi;
    const char* name;
};
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr DiameterBin kDiameterBins[] = {{-kInf, 3, "< 3 mm"}, {3, 4, "3-4 mm"},   {4, 6, "4-6 mm"},
                                         {6, 10, "6-10 mm"},   {10, 20, "10-20 mm"}, {20, kInf, ">= 20 mm"}};

// Where each kSubgroupFps point sits in kFrocPoints.
std::size_t froc_index(double fps) {
    return static_cast<std::size_t>(std::find(kFrocPoints.begin(), kFrocPoints.end(), fps) - kFrocPoints.begin());
}

}  // namespace

std::vector<NoduleGroup> diameter_groups(const std::vector<Annotation>& annotations) {
    std::vector<NoduleGroup> groups;
    for (const DiameterBin& bin : kDiameterBins) {
        NoduleGroup g{"diameter", bin.name, {}};
        for (std::size_t i = 0; i < annotations.size(); ++i)
            if (annotations[i].diameter_mm >= bin.lo && annotations[i].diameter_mm < bin.hi) g.members.push_back(i);
        if (!g.members.empty()) groups.push_back(std::move(g));
    }
    return groups;
}

std::vector<GroupSensitivity> subgroup_sensitivities(const std::vector<Annotation>& annotations, const std::vector<Annotation>& excluded,
                                                     const std::vector<std::string>& seriesuids, const std::vector<Candidate>& results,
                                                     const std::vector<NoduleGroup>& groups, int max_marks) {
    std::vector<GroupSensitivity> out;
    for (const NoduleGroup& g : groups) {
        std::vector<bool> in(annotations.size(), false);
        for (std::size_t i : g.members) in.at(i) = true;
        std::vector<Annotation> group, others = excluded;
        for (std::size_t i = 0; i < annotations.size(); ++i) (in[i] ? group : others).push_back(annotations[i]);
        const FrocResult r = evaluate_froc(group, others, seriesuids, results, max_marks);
        if (r.nodules == 0) continue;
        GroupSensitivity s{g.family, g.name, r.nodules, r.detected, {}};
        for (std::size_t k = 0; k < kSubgroupFps.size(); ++k) s.sensitivity[k] = r.sensitivities[froc_index(kSubgroupFps[k])];
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace nodulecad
