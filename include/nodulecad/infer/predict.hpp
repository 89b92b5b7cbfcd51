#pragma once
// Whole-scan inference: every slice of every scan through the U-Net with the training preprocessing (lung mask,
// window, the same sample grid, the train normalisation), mapped back onto the scan grid exactly.
#include <cstdint>
#include <memory>
#include <string>

#include "nodulecad/core/launch.hpp"
#include <vector>

#include "nodulecad/io/image_file.hpp"

namespace nodulecad {

struct PredictOptions {
    std::string model;        // RUN/best.pt
    std::string data;         // a cohort folder (subset*/<uid>.mhd or <uid>.mhd) or one .mhd/.mha
    std::string out_dir;      // PRED: <uid>_prob.mhd
    std::string device = "auto";
    bool amp = true;            // on CUDA: bf16 autocast and channels-last (model/run_mode.hpp); ignored on a CPU
    int batch = 0;              // slices per forward pass; 0: 1 on a CPU (fastest there), 16 on CUDA
    bool float_output = false;  // float probabilities instead of uint8 0-255
    ImageFormat format = ImageFormat::MetaImage;  // <uid>_prob.mhd, or (Nifti) <uid>_prob.nii.gz
    // Run the network on a square grid fitted to each scan's lungs (+10 mm) and only on slices within 2 of a lung
    // voxel (elsewhere the probability is 0); false: the training grid (card size) on every slice.
    bool lungs_only = true;
    bool skip_existing = false;  // leave scans whose <uid>_prob.mhd exists (outputs are written atomically)
    int threads = 1;
    Shard shard;                 // only scans K, K + N, ... of the uid order (docs/distributed.md); all by default
};

struct PredictSummary {
    int scans = 0, skipped = 0;
    std::int64_t slices = 0;
    std::vector<std::string> uids, outputs;  // every scan's <uid>_prob.mhd, skipped ones too
};

PredictSummary predict_scans(const PredictOptions& opts);

// The U-Net loaded once for many scans (what predict_scans and `infer` run): uses opts' model, device, amp,
// batch, float_output, lungs_only and threads.
class ScanPredictor {
public:
    explicit ScanPredictor(const PredictOptions& opts);
    ~ScanPredictor();
    ScanPredictor(const ScanPredictor&) = delete;
    ScanPredictor& operator=(const ScanPredictor&) = delete;
    // One scan's probability volume on the scan's grid, exactly what predict_scans writes: uint8 round(p * 255)
    // (or float p with float_output). `lungs`: segment_lungs_robust's mask of the scan. `slices` gets the slices
    // run when not null.
    AnyVolume predict(const Volume<std::int16_t>& scan, const Volume<std::uint8_t>& lungs, std::int64_t* slices = nullptr) const;
    // Seconds spent in the network so far (on a GPU: queueing it and waiting for its output, while the next batch's
    // input is made beside it), for `infer` to report beside the step's time.
    double network_seconds() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace nodulecad
