#pragma once
// The 3D detector over a whole scan: the lungs' box on the network's millimetre grid (preprocess/grid3d.hpp), cut
// into overlapping tiles (one tile for most boxes), each tile's centre kept — a fully convolutional network gives the same values a
// whole-box pass would, save at the tiles' zero-padded rims, which the overlap discards. Out come the centre heatmap
// and the diameter map on the box's grid, in world mm through its geometry (detect/heatmap_peaks.hpp turns them
// into candidates). Plain C++ interface: torch stays in detector3d_infer.cpp.
#include <cstdint>
#include <memory>
#include <string>

#include "nodulecad/core/volume.hpp"
#include "nodulecad/model/detector3d_config.hpp"

namespace nodulecad {

struct HeatmapVolumes {
    Volume<float> heat;         // sigmoid of the centre logit (segmentation head: of the nodule logit), in [0, 1]
    Volume<float> diameter_mm;  // exp of the size head
};

struct Detector3dRunOptions {
    std::string model;          // a 3D detector checkpoint (best.pt)
    std::string device = "auto";
    bool amp = true;            // bf16 autocast on CUDA
    int tile = 0;               // largest tile core side in voxels (a smaller box is one tile); 0: 160
    int margin = 8;             // voxels of context around each core, discarded
    // Test-time mirroring: the mean heat (and geometric-mean diameter) over this many passes — none, then x, y, z,
    // xy, xz, yz, xyz mirrored (1-8; training mirrors every axis, so each is a view the network knows).
    int flips = 1;
};

class Detector3dRunner {
public:
    explicit Detector3dRunner(const Detector3dRunOptions& opts);
    ~Detector3dRunner();
    Detector3dRunner(const Detector3dRunner&) = delete;
    Detector3dRunner& operator=(const Detector3dRunner&) = delete;
    const Detector3dCard& card() const;
    // Seconds spent in the network so far (its passes, until their means are on the CPU): what `infer` reports
    // beside the step's time, to tell the device's share from the CPU's.
    double network_seconds() const;
    // A box made with card().grid (lung_box_on_grid) and, for a network with the lung+mask input (card().net
    // .needs_lung_mask()), the lung mask on it (lungs_on_grid; Error when missing or not on the box's grid).
    HeatmapVolumes run(const Volume<std::uint8_t>& box, const Volume<std::uint8_t>* lungs_on_box = nullptr) const;
    // A scan and its lung mask: the box (and the mask on it), then the above.
    HeatmapVolumes run(const Volume<std::int16_t>& scan, const Volume<std::uint8_t>& lungs, int threads) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace nodulecad
