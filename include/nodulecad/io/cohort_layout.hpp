#pragma once
// Finding the scans of a cohort laid out like LUNA16: DIR/subset<k>/<scan> or scans directly in DIR, where a scan is
// a MetaImage (<uid>.mhd / .mha), a NIfTI file (<uid>.nii / .nii.gz) or a DICOM series in any folder below (uid =
// its SeriesInstanceUID, as LUNA16 names the LIDC-IDRI scans).
#include <cstdint>
#include <string>
#include <vector>

#include "nodulecad/core/volume.hpp"

namespace nodulecad {

struct ScanFile {
    std::string uid;     // file name without its ending, or the DICOM SeriesInstanceUID (the seriesuid in LUNA16)
    std::string path;    // the file, or the folder holding the DICOM series
    int subset = -1;     // k of subset<k>, -1 when not in a subset folder
    std::string series;  // DICOM: the series to read from `path` (a folder may hold several)
};

// Sorted by uid. Errors: folder missing, no scans, the same uid twice. A path to one scan file gives that scan; a
// folder holding DICOM files directly is searched for DICOM series only (CT image series).
std::vector<ScanFile> find_scans(const std::string& dir_or_scan);

// The scan in HU, whatever its format (io/image_file.hpp: read_ct).
Volume<std::int16_t> read_scan(const ScanFile& scan, std::uint64_t max_bytes = std::uint64_t{16} << 30);

// Default file names of a cohort's tables: DIR/annotations.csv, and DIR/annotations_excluded.csv when it exists
// ("" otherwise).
std::string default_annotations(const std::string& data_dir);
std::string default_excluded(const std::string& data_dir);

// The probability volumes `predict` wrote: DIR/<uid>_prob.mhd (or .nii.gz), sorted by uid. Errors: folder missing,
// none found, one uid twice.
std::vector<ScanFile> find_predictions(const std::string& dir);
// DIR/<uid>_prob.mhd or .nii.gz (or .nii) when one exists, else "".
std::string prediction_path(const std::string& dir, const std::string& uid);
// DIR/<stem>.mhd, .mha, .nii.gz or .nii, the first that exists (a mask or label volume in any format), else "".
std::string image_path(const std::string& dir, const std::string& stem);

}  // namespace nodulecad
