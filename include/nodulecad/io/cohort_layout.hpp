#pragma once
// Finding the scans of a cohort laid out like LUNA16: DIR/subset<k>/<uid>.mhd (or .mha), or scans directly in DIR.
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

// Default file names of a cohort's tables: DIR/annotations.csv, and DIR/annotations_excluded.csv when it exists
// ("" otherwise).
std::string default_annotations(const std::string& data_dir);
std::string default_excluded(const std::string& data_dir);

// The probability volumes `predict` wrote: DIR/<uid>_prob.mhd, sorted by uid. Errors: folder missing, none found.
std::vector<ScanFile> find_predictions(const std::string& dir);

}  // namespace nodulecad
