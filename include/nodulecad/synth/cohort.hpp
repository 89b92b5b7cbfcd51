#pragma once
// A whole synthetic cohort in the LUNA16 layout:
//   DIR/subset<k>/<uid>.mhd + .raw        scans (MET_SHORT), scan n in subset n % 10; or, by `format`,
//   DIR/subset<k>/<uid>.nii.gz            the same voxels as NIfTI-1, or
//   DIR/subset<k>/<uid>/IM<nnnn>.dcm      as a DICOM CT series (SeriesInstanceUID = uid; odd scans stored unsigned
//                                         with RescaleIntercept -1024, even ones signed; every third scan's files
//                                         numbered against the slice order)
//   DIR/annotations.csv                   nodules >= 3 mm (centre of mass, equivalent diameter; world mm)
//   DIR/annotations_excluded.csv          nodules < 3 mm (diameter), nodules hidden inside vessels (diameter) and
//                                         non-nodules (-1)
//   DIR/seriesuids.csv                    every uid
//   DIR/truth/<uid>_lungs.mhd             uint8 lung mask
//   DIR/truth/<uid>_nodules.mhd           uint8 nodule instance labels (1..n in annotation order per scan)
//   DIR/manifest.json                     every generation parameter per scan (its preset among them)
// Same seed, preset and fractions give byte-identical files for any thread count.
#include <cstdint>
#include <string>

#include "nodulecad/core/launch.hpp"
#include "nodulecad/io/image_file.hpp"
#include "nodulecad/synth/scan_spec.hpp"

namespace nodulecad {

// The generator's version, manifest.json's model_version: what the same seed and options give changed with it
// (2: nodules hidden inside vessels became excluded findings).
inline constexpr int kSynthModelVersion = 2;

struct CohortOptions {
    std::string out_dir;
    int scans = 10;
    std::uint64_t seed = 0;
    Preset preset = Preset::Demo;
    // This share of scans (rounded, chosen by the seed) is drawn at the full preset instead of `preset`: one cohort
    // that mixes coarse and LUNA16-like thin-slice scans, so a network trained on it meets both geometries.
    double full_fraction = 0;
    double flip_fraction = 0.1;  // this share of scans (rounded) gets the LUNA16 flipped direction
    ImageFormat format = ImageFormat::MetaImage;  // of the scans (truth masks stay MetaImage)
    int threads = 1;
    // Only scans K, K + N, ... of the generation order (docs/distributed.md): each leaves its table rows beside its
    // truth (truth/<uid>.synth.json), and the tables are written by the shard that finds every scan's rows there
    // (or by a run without a shard, which generates everything).
    Shard shard;
};

struct CohortSummary {
    int scans = 0, flipped = 0, nodules = 0, excluded = 0;  // of the scans written now
    std::int64_t voxels = 0;
    int pending = 0;     // sharded: scans whose rows are not there yet (then no tables are written)
    bool tables = true;  // annotations.csv, annotations_excluded.csv, seriesuids.csv, manifest.json written
};

// Which scans are flipped: round(fraction * scans) of them, chosen by the seed.
std::vector<bool> choose_flipped(int scans, double fraction, std::uint64_t seed);
// Which scans are drawn at the full preset: round(fraction * scans) of them, chosen by the seed independently of
// the flipped ones.
std::vector<bool> choose_full(int scans, double fraction, std::uint64_t seed);

// Every scan's specification, in index order: what write_cohort renders (presets, flips, geometry, findings).
std::vector<ScanSpec> plan_cohort(const CohortOptions& opts);

CohortSummary write_cohort(const CohortOptions& opts);

}  // namespace nodulecad
