#pragma once
// Probability volumes as `predict` writes them (PRED/<uid>_prob.mhd or .nii.gz): uint8 holds round(p * 255), float holds p.
// Every reader goes through here, so a float map is never thresholded as if it were bytes.
#include <string>

#include "nodulecad/core/volume.hpp"

namespace nodulecad {

// p in [0, 1] per voxel, from a volume of either kind (other element types are taken as p directly).
Volume<float> probability_volume(AnyVolume&& v);
Volume<float> read_probability_volume(const std::string& path);

// 1 where p >= threshold, 0 elsewhere, on the map's geometry; for uint8 maps compared as value >= threshold * 255
// exactly (no float rounding at the boundary).
Volume<std::uint8_t> threshold_probability(const AnyVolume& probability, double threshold);

}  // namespace nodulecad
