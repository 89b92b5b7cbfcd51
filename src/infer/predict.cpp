#include "infer/predict.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "io/cohort_layout.hpp"
#include "io/metaimage.hpp"
#include "io/png.hpp"
#include "model/unet.hpp"
#include "preprocess/lung_segmentation.hpp"
#include "preprocess/slice_grid.hpp"
#include "report/slice_view.hpp"

namespace nodulecad {

namespace fs = std::filesystem;

PredictSummary predict_scans(const PredictOptions& o) {
    if (o.batch < 1) throw Error("--batch must be positive");
    torch::set_num_threads(std::max(1, o.threads));
    const torch::Device device = pick_device(o.device);
    ModelCard card;
    UNet model = load_checkpoint(o.model, card, device);
    model->eval();
    torch::NoGradGuard no_grad;
    const std::vector<ScanFile> scans = find_scans(o.data);
    fs::create_directories(o.out_dir);
    PredictSummary sum;
    const WindowOptions window{card.window_lo, card.window_hi, card.context, card.mask_lungs};
    const std::int64_t S = card.size, C = card.unet.in_channels;
    const auto mean = static_cast<float>(card.mean), inv_std = static_cast<float>(1 / card.std);

    Progress progress("predict", static_cast<std::int64_t>(scans.size()), "scans");
    for (const ScanFile& file : scans) {
        const std::string& uid = file.uid;
        const std::string& path = file.path;
        const Volume<std::int16_t> scan = read_volume<std::int16_t>(path);
        const Geometry& g = scan.geometry;
        LungSegmentationOptions lo;
        lo.threads = o.threads;
        const LungSegmentation lungs = segment_lungs_robust(scan, lo);
        const SliceGrid grid = grid_around(lungs.mask, card.size, card.pixel_mm);
        const std::int64_t nz = g.size[2];
        const std::size_t plane = static_cast<std::size_t>(g.size[0] * g.size[1]);
        // Only what is written is kept: float probabilities with --float, else p * 255 as uint8 (a quarter).
        Volume<float> prob;
        Volume<std::uint8_t> quantised;
        if (o.float_output) prob = Volume<float>(g, 0.f);
        else quantised = Volume<std::uint8_t>(g, 0);
        std::vector<float> slice(plane);
        std::vector<float> input(static_cast<std::size_t>(o.batch * C * S * S));
        for (std::int64_t k0 = 0; k0 < nz; k0 += o.batch) {
            const std::int64_t n = std::min<std::int64_t>(o.batch, nz - k0);
            for (std::int64_t b = 0; b < n; ++b) {
                float* x = input.data() + static_cast<std::size_t>(b * C * S * S);
                sample_image(scan, &lungs.mask, grid, k0 + b, window, x);
                for (std::int64_t i = 0; i < C * S * S; ++i) x[i] = (x[i] - mean) * inv_std;
            }
            const torch::Tensor p = model->forward(torch::from_blob(input.data(), {n, C, S, S}).to(device)).to(torch::kCPU).contiguous();
            const float* pv = p.data_ptr<float>();
            for (std::int64_t b = 0; b < n; ++b) {
                const std::size_t off = static_cast<std::size_t>(k0 + b) * plane;
                if (o.float_output) {
                    unsample_slice(pv + b * S * S, grid, g, k0 + b, prob.voxels.data() + off);
                } else {
                    unsample_slice(pv + b * S * S, grid, g, k0 + b, slice.data());
                    for (std::size_t i = 0; i < plane; ++i)
                        quantised.voxels[off + i] = static_cast<std::uint8_t>(std::lround(std::clamp(slice[i], 0.f, 1.f) * 255));
                }
            }
        }
        const std::string out = (fs::path(o.out_dir) / (uid + "_prob.mhd")).string();
        if (o.float_output) write_metaimage(out, prob);
        else write_metaimage(out, quantised);
        if (o.overlays) {
            // The scan under the mask, like the seed's preds/*.jpg: slices where the model marks something.
            Volume<std::uint8_t> marked(g, 0);
            for (std::size_t i = 0; i < marked.voxels.size(); ++i)
                marked.voxels[i] = (o.float_output ? prob.voxels[i] >= 0.5f : quantised.voxels[i] >= 128) ? 1 : 0;
            int written = 0;
            for (std::int64_t k = 0; k < nz && written < 50; ++k) {
                bool any = false;
                for (std::size_t i = static_cast<std::size_t>(k) * plane; i < static_cast<std::size_t>(k + 1) * plane && !any; ++i) any = marked.voxels[i] != 0;
                if (!any) continue;
                SliceViewOptions v;
                v.world_point = index_to_world(g, {(static_cast<double>(g.size[0]) - 1) / 2, (static_cast<double>(g.size[1]) - 1) / 2, static_cast<double>(k)});
                v.overlay = &marked;
                write_png((fs::path(o.out_dir) / (uid + "_slice" + std::to_string(k) + ".png")).string(), render_slice_view(scan, v));
                ++written;
            }
        }
        sum.outputs.push_back(out);
        ++sum.scans;
        sum.slices += nz;
        progress.advance();
    }
    return sum;
}

}  // namespace nodulecad
