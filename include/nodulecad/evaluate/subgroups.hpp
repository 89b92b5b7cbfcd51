#pragma once
// Sensitivity by kind of nodule: how many of the small, the ground-glass or the juxtapleural nodules are found at
// 1, 2 and 8 false positives a scan. A subgroup's FROC is the official one (evaluate/froc.hpp) with the reference
// nodules outside the group moved to the excluded findings: a mark on one of them is then neither a hit nor a false
// positive — as it is neither a false positive in the whole evaluation, where it is a hit — so every subgroup's
// curve has the same false positives per scan as the whole evaluation's, and the group of all nodules gives the
// official sensitivities exactly.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "nodulecad/io/tables.hpp"

namespace nodulecad {

// The false-positive rates reported per subgroup (a subset of kFrocPoints).
inline constexpr std::array<double, 3> kSubgroupFps{1, 2, 8};

// A set of reference nodules: annotation indices, with the family ("diameter", "kind", "location") and the name.
struct NoduleGroup {
    std::string family, name;
    std::vector<std::size_t> members;
};

struct GroupSensitivity {
    std::string family, name;
    std::int64_t nodules = 0;   // of the group on the listed scans
    std::int64_t detected = 0;  // hit by any mark (at any threshold)
    std::array<double, 3> sensitivity{};  // at kSubgroupFps
};

// The LUNA16 diameter bins: 3-4, 4-6, 6-10, 10-20 and >= 20 mm (and < 3 mm when a nodule is that small); empty bins
// are left out.
std::vector<NoduleGroup> diameter_groups(const std::vector<Annotation>& annotations);

// Each group's sensitivities, evaluated as the header says; groups without a nodule on the listed scans are left out.
std::vector<GroupSensitivity> subgroup_sensitivities(const std::vector<Annotation>& annotations, const std::vector<Annotation>& excluded,
                                                     const std::vector<std::string>& seriesuids, const std::vector<Candidate>& results,
                                                     const std::vector<NoduleGroup>& groups, int max_marks = 100);

}  // namespace nodulecad
