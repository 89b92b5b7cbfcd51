#pragma once
// Nodule masks from annotations: a ball of radius diameter/2 (an ellipsoid in voxels when the spacing is
// anisotropic) around each annotated world centre, placed through the scan's direction matrix.
#include <string>
#include <vector>

#include "nodulecad/core/volume.hpp"
#include "nodulecad/io/tables.hpp"

namespace nodulecad {

struct NoduleMaskOptions {
    bool legacy_radius = false;  // the seed system's bug: radius = diameter (a ball twice too wide)
    // Smaller nodules are drawn as balls of this diameter (0: as annotated). A 3.5-mm nodule is a handful of pixels
    // on a 1-mm slice; a larger target gives the 2D network more of them to learn an answer from (docs/model.md).
    double min_diameter_mm = 0;
    bool instance_labels = true; // label i for the i-th annotation (capped at 255); false: 1 everywhere
};

// Annotations of other scans are the caller's business: every row given is drawn.
Volume<std::uint8_t> nodule_mask(const Geometry& g, const std::vector<Annotation>& nodules, const NoduleMaskOptions& opts = {});

// What is wrong with a scan's annotations, one line each, for a warning: a centre outside the scan (wrong
// coordinates, or another scan's row), a diameter that is not positive (nothing is drawn for it).
std::vector<std::string> annotation_problems(const Geometry& g, const std::vector<Annotation>& nodules);

}  // namespace nodulecad
