#pragma once
// The 3D detector's training data: every training scan's lung box on the millimetre grid (preprocess/grid3d.hpp)
// as DIR/<uid>.npy (uint8, z-y-x) and DIR/dataset.json with each box's geometry, its nodules (continuous grid
// index and diameter) and whether the patient validates; with `lung_mask`, also DIR/<uid>_lungs.npy, the lung mask
// on the same box (lungs_on_grid, uint8 0..255), for the detector's lung+mask input. Patches are cut from these at
// training time.
#include <cstdint>
#include <string>
#include <vector>

#include "nodulecad/core/geometry.hpp"
#include "nodulecad/preprocess/grid3d.hpp"
#include "nodulecad/preprocess/lung_segmentation.hpp"

namespace nodulecad {

struct Detector3dDatasetOptions {
    std::string data_dir;      // a cohort folder (subset*/<uid>.mhd, ...)
    std::string annotations;   // LUNA16 annotations.csv, world mm
    std::string out_dir;
    Grid3dOptions grid;
    LungSegmentationOptions lungs;
    double val_fraction = 0.1;      // patients held out for validation (patient_split.hpp)
    std::vector<int> val_subsets;   // or these LUNA16 subsets
    std::uint64_t seed = 0;
    bool lung_mask = false;    // also write each box's lung mask
    int threads = 1;
};

struct GridNodule {
    Vec3 index{};              // continuous index on the scan's box grid
    double diameter_mm = 0;
};

struct Detector3dScan {
    std::string uid, file;     // file: <uid>.npy, relative to the dataset folder
    std::string lungs_file;    // <uid>_lungs.npy, the same way; empty in a dataset built without lung masks
    Geometry geometry;         // of the box
    std::vector<GridNodule> nodules;
    bool validation = false;
};

struct Detector3dDataset {
    std::string dir;
    Grid3dOptions grid;
    std::vector<Detector3dScan> scans;
};

// Builds the dataset (progress bar over scans) and returns it as read_detector3d_dataset would.
Detector3dDataset build_detector3d_dataset(const Detector3dDatasetOptions& opts);
// DIR/dataset.json; Error naming the file for anything that is not one.
Detector3dDataset read_detector3d_dataset(const std::string& dir);

}  // namespace nodulecad
