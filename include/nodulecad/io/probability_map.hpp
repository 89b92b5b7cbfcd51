#pragma once
// Probability volumes as `predict` writes them (PRED/<uid>_prob.mhd or .nii.gz): uint8 holds round(p * 255), float holds p.
// Every reader goes through here, so a float map is never thresholded as if it were bytes.
#include <cstdint>
#include <string>

#include "nodulecad/core/volume.hpp"

namespace nodulecad {

// p in [0, 1] per voxel, from a volume of either kind (other element types are taken as p directly).
Volume<float> probability_volume(AnyVolume&& v);
Volume<float> read_probability_volume(const std::string& path);

// The float value probability_volume gives a uint8 voxel: b / 255 in float.
float byte_probability(std::uint8_t b);

// A uint8 or float probability volume read voxel by voxel as the p of probability_volume, without making that float
// copy (4 bytes a voxel: about 300 MB for a 512x512x300 scan, and the time to fill it). Holds pointers: the volume
// must outlive the view. Converts implicitly, so functions taking a view take either volume.
class ProbabilityView {
public:
    // Implicit on purpose: a view is what a volume is read through.
    ProbabilityView(const Volume<float>& v) : geometry_(&v.geometry), floats_(v.voxels.data()), size_(v.voxels.size()) {}
    ProbabilityView(const Volume<std::uint8_t>& v);
    const Geometry& geometry() const { return *geometry_; }
    std::size_t size() const { return size_; }
    float operator[](std::size_t n) const { return floats_ ? floats_[n] : bytes_table_[bytes_[n]]; }
    float at(std::int64_t i, std::int64_t j, std::int64_t k) const {
        return (*this)[static_cast<std::size_t>(i + geometry_->size[0] * (j + geometry_->size[1] * k))];
    }

private:
    const Geometry* geometry_;
    const float* floats_ = nullptr;
    const std::uint8_t* bytes_ = nullptr;
    const float* bytes_table_ = nullptr;
    std::size_t size_ = 0;
};

// A view of `v` when it is uint8 or float; any other kind converted by probability_volume into `storage` first.
ProbabilityView probability_view(const AnyVolume& v, Volume<float>& storage);

// 1 where p >= threshold, 0 elsewhere, on the map's geometry; for uint8 maps compared as value >= threshold * 255
// exactly (no float rounding at the boundary).
Volume<std::uint8_t> threshold_probability(const AnyVolume& probability, double threshold);

}  // namespace nodulecad
