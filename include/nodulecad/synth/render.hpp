#pragma once
// Renders a ScanSpec into a CT volume in HU (int16) with exact truth: lung mask and nodule instance labels.
// Slices are rendered in parallel; every slice depends only on the spec and its index, so the output is
// identical for any thread count. Noise is drawn in a flip-invariant voxel order, so a flipped scan is an exact
// mirror of its unflipped twin.
#include <vector>

#include "nodulecad/core/volume.hpp"
#include "nodulecad/synth/scan_spec.hpp"

namespace nodulecad {

struct RenderedFinding {
    int finding = -1;   // index into ScanSpec::findings
    int label = 0;      // value in the nodule label volume (0 = not labelled: excluded findings)
    Vec3 world{};       // annotated centre: centre of mass of the label (designed centre for excluded findings)
    double diameter = 0;  // annotated diameter: equivalent diameter of the label (-1 for non-nodules)
    std::int64_t voxels = 0;
};

struct RenderedScan {
    Volume<std::int16_t> scan;
    Volume<std::uint8_t> lungs;    // 1 inside either lung (parenchyma, vessels, small airways, nodules)
    Volume<std::uint8_t> nodules;  // instance labels 1..n of annotated nodules
    std::vector<RenderedFinding> annotations;  // nodules >= 3 mm
    std::vector<RenderedFinding> excluded;     // small nodules and non-nodules
};

RenderedScan render_scan(const ScanSpec& spec, int threads);

}  // namespace nodulecad
