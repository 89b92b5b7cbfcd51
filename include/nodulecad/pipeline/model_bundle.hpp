#pragma once
// A trained model bundle: the folder `run` and `demo` write as WORK/model/ and `infer` applies to new scans. It holds
// every network and a card (model.json) of everything inference must repeat that the networks' own cards do not
// say: the detector, the lung segmentation, the candidate rules, the blob filter, how the FP reduction's
// probability is combined. (Each network's card — grid, windows, normalisation, patch cut, symmetries — travels
// inside its checkpoint.) docs/pipeline.md describes the layout; the format is versioned and a bundle of another
// format is refused, not guessed at.
#include <string>

#include "nodulecad/detect/blobs.hpp"
#include "nodulecad/detect/candidates.hpp"
#include "nodulecad/detect/heatmap_peaks.hpp"
#include "nodulecad/model/fpr_config.hpp"
#include "nodulecad/preprocess/lung_segmentation.hpp"

namespace nodulecad {

// The first-stage detector: the seed's 2D U-Net on every slice (probability maps -> components and blobs), the
// 3D centre-heatmap network on the lungs' box (heatmap peaks), or both with their candidates pooled (the two miss
// different nodules; the FP reduction, trained on the pool, ranks them), docs/model.md.
enum class Detector { UNet2d, Heatmap3d, Pooled };
inline constexpr EnumName<Detector> kDetectorNames[] = {
    {Detector::UNet2d, "unet2d"}, {Detector::Heatmap3d, "heatmap3d"}, {Detector::Pooled, "unet2d+heatmap3d"}};
inline bool uses_unet(Detector d) { return d != Detector::Heatmap3d; }
inline bool uses_detector3d(Detector d) { return d != Detector::UNet2d; }

// model.json's "format_version"; bump on any change infer must know of. 2: heatmap3d's test-time mirrors; 3: the
// pooled detector (both networks in one bundle); 4: blobs beside the 3D detector's peaks (peaks.blobs_per_scan);
// 5: detect.blobs_uncovered; 6: detect.score (peak-share).
inline constexpr int kModelBundleFormat = 6;
inline constexpr int kOldestModelBundleFormat = 1;  // still read: what it lacks has a default that reproduces it
inline constexpr const char* kModelBundleCard = "model.json";

struct ModelBundle {
    std::string card;          // model.json (set when read)
    Detector detector = Detector::UNet2d;
    std::string unet;          // uses_unet: the U-Net checkpoint (absolute path once read)
    std::string detector3d;    // uses_detector3d: the 3D detector's checkpoint
    PeakOptions peaks;         // uses_detector3d: how peaks become candidates
    int detector3d_flips = 1;  // uses_detector3d: test-time mirrored passes (Detector3dRunOptions::flips; format 1: 1)
    std::string fpr;           // the FP-reduction checkpoint; empty: none (the U-Net's probabilities are kept)
    bool lungs_only = true;    // PredictOptions::lungs_only
    LungSegmentationOptions lungs;
    DetectOptions detect;      // threshold, sizes, cap, blob count
    BlobOptions blobs;         // the blob filter's settings (count from detect)
    FprCombine combine = FprCombine::Replace;
    std::string version;       // the nodulecad that wrote it (read back; written as this build's)
};

// Writes DIR/model.json and copies the networks into DIR (unet.pt and/or detector3d.pt, fpr.pt) from the paths in `bundle`; every file
// written atomically, the card last, so a folder with a card is whole.
void write_model_bundle(const std::string& dir, const ModelBundle& bundle);

// Reads DIR/model.json (or the card given directly) and checks that its networks exist; Error naming the file for
// a missing folder, card or network, a card that is not one, or one of another format version.
ModelBundle read_model_bundle(const std::string& dir_or_card);

}  // namespace nodulecad
