#pragma once
// Finding the scans of a cohort laid out like LUNA16: DIR/subset<k>/<uid>.mhd (or .mha), or scans directly in DIR.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace nodulecad {

struct ScanFile {
    std::string uid;   // file name without extension (the seriesuid in LUNA16)
    std::string path;
    int subset = -1;   // k of subset<k>, -1 when not in a subset folder
};

// Sorted by uid. Errors: folder missing, no scans, the same uid twice. A path to one .mhd/.mha gives that scan.
std::vector<ScanFile> find_scans(const std::string& dir_or_scan);

// The probability volumes `predict` wrote: DIR/<uid>_prob.mhd, sorted by uid. Errors: folder missing, none found.
std::vector<ScanFile> find_predictions(const std::string& dir);

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
