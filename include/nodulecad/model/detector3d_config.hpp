#pragma once
// The 3D detector's shape (plain C++): a 3D U-Net over millimetre-grid patches with two heads per voxel — the
// nodule-centre heatmap (a logit; sigmoid for the probability) and the diameter (natural log of mm) — the
// CenterNet idea in 3D. Candidates come from the heatmap's peaks (detect/heatmap_peaks.hpp). docs/model.md says
// where it stands.
#include <cstdint>

namespace nodulecad {

struct Detector3dConfig {
    int in_channels = 1;
    int base_filters = 16;  // filters at the first level, doubled per level
    int depth = 4;          // levels; patch sides must be divisible by 2^(depth-1)
    bool batch_norm = true;
    void check() const;     // OptionError for a network that cannot be built
};

// Parameters (weights, biases, batch-norm affine): the default (16 filters, 4 levels) has 1,461,010.
std::int64_t detector3d_parameter_count(const Detector3dConfig& c);

// The focal loss's weights (CornerNet / CenterNet): alpha on the prediction, beta on the Gaussian around a centre.
struct HeatmapLossOptions {
    double alpha = 2, beta = 4;
    double size_weight = 0.1;  // L1 on log-diameter at centre voxels, against the heatmap term
};

}  // namespace nodulecad
