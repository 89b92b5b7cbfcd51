#pragma once
// Lung segmentation of a chest CT in HU. Output: uint8 mask with the scan's geometry, 1 inside either lung
// (parenchyma, vessels, nodules inside the pleura, juxtapleural nodules included), 0 for the trachea, main bronchi,
// mediastinum and everything else — the definition of the synthetic truth masks.
#include <cstdint>
#include <string>
#include <vector>

#include "nodulecad/core/enum_names.hpp"
#include "nodulecad/core/volume.hpp"

namespace nodulecad {

enum class LungMethod {
    Robust,  // segment_lungs_robust (lung_segmentation.cpp): what the pipeline uses
    Seed,    // segment_lungs_seed (lung_segmentation_seed.cpp): the original system's recipe, for comparison
};
inline constexpr EnumName<LungMethod> kLungMethodNames[] = {{LungMethod::Robust, "robust"}, {LungMethod::Seed, "seed"}};

struct LungSegmentationOptions {
    double air_threshold_hu = -400;  // lung/air below, tissue above (the partial-volume midpoint of lung and wall)
    double closing_radius_mm = 12;   // per-slice closing that takes juxtapleural nodules and hilar notches in
    double max_hole_mm2 = 2000;      // enclosed holes up to this area are filled (vessels, nodules); bigger ones are anatomy
    double min_lung_ml = 5;          // air components smaller than this are not lungs
    int threads = 1;
};

struct LungSegmentation {
    Volume<std::uint8_t> mask;
    int components = 0;              // lung components kept (1 when the lungs touch)
    std::int64_t airway_voxels = 0;  // trachea and main bronchi removed
    std::vector<std::string> warnings;  // e.g. no lungs found
};

// 3D method for any chest CT: outside air and padding removed per slice, trachea and main bronchi tracked from the
// top and removed, lung components chosen in 3D, vessels and nodules filled per slice.
LungSegmentation segment_lungs_robust(const Volume<std::int16_t>& scan, const LungSegmentationOptions& opts = {});

// The seed system's per-slice recipe, for comparison: z-score, 2-means threshold on the central region, erosion
// 4x4, dilation 10x10, region filter on bounding boxes, union, final dilation 10x10 (pixel sizes scaled from 512).
LungSegmentation segment_lungs_seed(const Volume<std::int16_t>& scan, int threads = 1);

// Either method (the seed recipe uses opts.threads only).
LungSegmentation segment_lungs(const Volume<std::int16_t>& scan, LungMethod method, const LungSegmentationOptions& opts = {});

}  // namespace nodulecad
