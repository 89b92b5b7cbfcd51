#pragma once
// How the pipeline divides a cohort: which scans each split holds out for testing, which training scans give the
// false-positive reduction its candidates, and the folders of links that show each tool one side of a split.
// Plain C++.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "nodulecad/io/cohort_layout.hpp"

namespace nodulecad {

// The held-out uids of each split:
//   folds > 1: fold f holds out the scans of the LUNA16 subsets s with s % folds == f (scans outside subset folders:
//              a seeded order dealt round the folds);
//   otherwise one split: the scans of `test_subsets`, or a seeded `test_fraction` of the patients.
// OptionError for folds 1 or < 0 and a fraction outside (0, 1); Error for a split that leaves no test or no
// training scans.
std::vector<std::set<std::string>> test_splits(const std::vector<ScanFile>& scans, int folds, const std::vector<int>& test_subsets,
                                               double test_fraction, std::uint64_t seed);

// The training scans that give the FP reduction its candidates: all of them, or (max_scans > 0) the first
// max_scans of the order its validation split draws from — so its validation patients all have candidates (one
// without would only add nodules nothing could find). Then at most a quarter of them validate, so three quarters
// still give training candidates. Scans in uid order.
struct FprScanChoice {
    std::vector<ScanFile> scans;
    double val_fraction = 0;
};
FprScanChoice choose_fpr_scans(const std::vector<ScanFile>& train, int max_scans, double val_fraction, std::uint64_t seed);

// A folder laid out like a cohort (subset<k>/ or scans/) holding links to these scans and their data files, so every
// tool sees exactly one side of a split. Replaces `dir`.
void link_scans(const std::vector<ScanFile>& scans, const std::string& dir);

std::vector<std::string> uids_of(const std::vector<ScanFile>& scans);

}  // namespace nodulecad
