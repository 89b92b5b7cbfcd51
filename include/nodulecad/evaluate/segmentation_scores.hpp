#pragma once
// Segmentation quality of predicted probability volumes against nodule masks: Dice and IoU per scan, per nodule
// and overall. Per nodule, the comparison is restricted to the nodule's bounding box grown by half its size on
// each side, so other nodules and far-away false positives do not count against it.
#include <string>
#include <vector>

#include "nodulecad/core/volume.hpp"
#include "nodulecad/evaluate/overlap.hpp"

namespace nodulecad {

struct NoduleSegScore {
    int label = 0;
    Vec3 centre{};  // world mm (centre of mass of the reference label)
    std::int64_t voxels = 0;
    Overlap overlap;
};

struct ScanSegScore {
    std::string uid;
    Overlap overlap;  // whole scan, binary
    std::vector<NoduleSegScore> nodules;
};

// `predicted`: binary (non-zero = nodule); `reference`: instance labels (0 = background).
ScanSegScore score_segmentation(const std::string& uid, const Volume<std::uint8_t>& predicted, const Volume<std::uint8_t>& reference);

}  // namespace nodulecad
