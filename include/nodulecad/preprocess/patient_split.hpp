#pragma once
// Which patients validate: the split every trainer and the pipeline use, by seriesuid, never by slice. Seeded by the
// uids themselves, so the same cohort and seed give the same split whatever order the scans are listed in.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "nodulecad/io/cohort_layout.hpp"

namespace nodulecad {

// The scans in the seeded order the fraction split draws validation patients from (first ones first): so the
// validation patients of a smaller fraction are among those of a larger one, and a caller that keeps the first N
// scans of this order keeps every validation patient of a fraction up to N / scans.
std::vector<ScanFile> validation_order(const std::vector<ScanFile>& scans, std::uint64_t seed);

// The patient split every trainer uses: the scans of the given LUNA16 subsets when `subsets` is not empty, otherwise
// round(fraction * scans) seriesuids chosen by the seed (the same uids for the same seed and cohort, whatever the
// order of `scans`). Returns the validation uids.
std::set<std::string> validation_uids(const std::vector<ScanFile>& scans, double fraction, const std::vector<int>& subsets,
                                      std::uint64_t seed);

}  // namespace nodulecad
