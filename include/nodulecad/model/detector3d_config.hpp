#pragma once
// The 3D detector's shape (plain C++): a 3D U-Net over millimetre-grid patches with two heads per voxel — the
// nodule-centre heatmap (a logit; sigmoid for the probability) and the diameter (natural log of mm) — the
// CenterNet idea in 3D. Candidates come from the heatmap's peaks (detect/heatmap_peaks.hpp). docs/model.md says
// where it stands.
#include <cstdint>
#include <string>

#include "nodulecad/core/enum_names.hpp"
#include "nodulecad/preprocess/grid3d.hpp"

namespace nodulecad {

// What the network's first head is trained to draw (docs/model.md): a centre heatmap whose peaks are the candidates
// (CenterNet), or a segmentation of the nodules (each a ball of its diameter) whose connected components are.
enum class Detector3dHead { Heatmap, Segmentation };
inline constexpr EnumName<Detector3dHead> kDetector3dHeadNames[] = {{Detector3dHead::Heatmap, "heatmap"},
                                                                    {Detector3dHead::Segmentation, "segmentation"}};

// What the network sees of its input (one grid channel, the card's window mapped to -1..1). `LungAndGlass` adds a
// second channel computed from it inside the network: the window's lower half (-1000..-300 HU with the default
// -1000..400) stretched across -1..1, everything denser saturated — ground glass (-700..-300 HU) stands out from the
// parenchyma at twice the contrast and looks like a solid nodule's edge, not like noise (docs/model.md).
// `LungAndMask` feeds a second channel from outside: the scan's lung mask on the same grid (0..1 as -1..1; the mask
// takes juxtapleural nodules in), so that dense tissue inside the lungs' outline reads apart from the chest wall.
enum class Detector3dInput { Lung, LungAndGlass, LungAndMask };
inline constexpr EnumName<Detector3dInput> kDetector3dInputNames[] = {
    {Detector3dInput::Lung, "lung"}, {Detector3dInput::LungAndGlass, "lung+glass"}, {Detector3dInput::LungAndMask, "lung+mask"}};

// Test-time passes of the detector (none, then x, y, z, xy, xz, yz, xyz mirrored): at most this many.
inline constexpr int kMaxDetector3dFlips = 8;

struct Detector3dConfig {
    int in_channels = 1;
    int base_filters = 16;  // filters at the first level, doubled per level
    int depth = 4;          // levels; patch sides must be divisible by 2^(depth-1)
    bool batch_norm = true;
    Detector3dInput input = Detector3dInput::Lung;
    void check() const;     // OptionError for a network that cannot be built
    // Whether callers feed the lung mask as a last input channel.
    bool needs_lung_mask() const { return input == Detector3dInput::LungAndMask; }
    // Channels callers feed: in_channels, one more with the lung mask.
    int fed_channels() const { return needs_lung_mask() ? in_channels + 1 : in_channels; }
    // Channels the first convolution sees: what is fed, twice in_channels with the glass window.
    int network_channels() const { return input == Detector3dInput::LungAndGlass ? 2 * in_channels : fed_channels(); }
};

// Parameters (weights, biases, batch-norm affine): the default (16 filters, 4 levels) has 1,461,010; with the glass
// window 432 more (the first convolution's second input channel).
std::int64_t detector3d_parameter_count(const Detector3dConfig& c);

// The focal loss's weights (CornerNet / CenterNet): alpha on the prediction, beta on the Gaussian around a centre.
// What a trained 3D detector carries in its checkpoint: the network, the grid it sees scans on, the patch side it
// was trained on (inference tiles are sized from it) and where its training stood.
struct Detector3dCard {
    Detector3dConfig net;
    Detector3dHead head = Detector3dHead::Heatmap;  // a card without "head" (written before it existed): heatmap
    Grid3dOptions grid;
    int patch = 48;            // voxels
    int epoch = 0;
    double best_score = -1e300;  // validation score of best.pt (minus the validation loss)
    std::string to_json() const;  // {"kind": "detector3d", ...}
    static Detector3dCard from_json(const std::string& text, const std::string& source);
};

struct HeatmapLossOptions {
    double alpha = 2, beta = 4;
    double size_weight = 0.1;  // L1 on log-diameter at centre voxels (inside the balls: segmentation), against the rest
};

}  // namespace nodulecad
