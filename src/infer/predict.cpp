#include "infer/predict.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/threads.hpp"
#include "io/cohort_layout.hpp"
#include "io/metaimage.hpp"
#include "io/png.hpp"
#include "model/run_mode.hpp"
#include "model/unet.hpp"
#include "preprocess/lung_segmentation.hpp"
#include "preprocess/slice_grid.hpp"
#include "report/slice_view.hpp"

namespace nodulecad {

namespace fs = std::filesystem;

PredictSummary predict_scans(const PredictOptions& o) {
    if (o.batch < 0) throw Error("--batch must be positive (or 0: automatic)");
    torch::set_num_threads(std::max(1, o.threads));
    const torch::Device device = pick_device(o.device);
    // One slice at a time is the fastest on a CPU (4.5 s per demo scan with 4, 3.7 s with 1, identical outputs: the
    // activations of one slice stay in cache); a GPU wants many.
    const int batch = o.batch > 0 ? o.batch : device.is_cuda() ? 16 : 1;
    ModelCard card;
    UNet model = load_checkpoint(o.model, card, device);
    model->eval();
    const RunMode mode = run_mode(device, o.amp);
    enable_cudnn_autotune(device);
    apply_memory_format(*model, mode);
    torch::NoGradGuard no_grad;
    const std::vector<ScanFile> scans = find_scans(o.data);
    fs::create_directories(o.out_dir);
    PredictSummary sum;
    const WindowOptions window{card.window_lo, card.window_hi, card.context, card.mask_lungs};
    const std::int64_t C = card.unet.in_channels;
    const auto mean = static_cast<float>(card.mean), inv_std = static_cast<float>(1 / card.std);

    Progress progress("predict", static_cast<std::int64_t>(scans.size()), "scans");
    for (const ScanFile& file : scans) {
        const std::string& uid = file.uid;
        const std::string& path = file.path;
        const std::string out = (fs::path(o.out_dir) / (uid + "_prob.mhd")).string();
        std::error_code ec;
        if (o.skip_existing && fs::exists(out, ec)) {
            sum.outputs.push_back(out);
            ++sum.skipped;
            progress.advance();
            continue;
        }
        const Volume<std::int16_t> scan = read_volume<std::int16_t>(path);
        const Geometry& g = scan.geometry;
        LungSegmentationOptions lo;
        lo.threads = o.threads;
        const LungSegmentation lungs = segment_lungs_robust(scan, lo);
        const SliceGrid grid = o.lungs_only ? grid_fitted(lungs.mask, card.pixel_mm, 1 << (card.unet.depth - 1), 10.0)
                                            : grid_around(lungs.mask, card.size, card.pixel_mm);
        const std::int64_t S = grid.size;
        const std::int64_t nz = g.size[2];
        const std::size_t plane = static_cast<std::size_t>(g.size[0] * g.size[1]);
        // The slices to run: all, or those within 2 of a slice with lung voxels.
        std::vector<std::int64_t> todo;
        {
            std::vector<bool> has(static_cast<std::size_t>(nz), !o.lungs_only);
            if (o.lungs_only)
                for (std::int64_t k = 0; k < nz; ++k)
                    has[static_cast<std::size_t>(k)] = std::any_of(lungs.mask.voxels.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(k) * plane),
                                                                   lungs.mask.voxels.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(k + 1) * plane),
                                                                   [](std::uint8_t v) { return v != 0; });
            for (std::int64_t k = 0; k < nz; ++k) {
                bool near = false;
                for (std::int64_t d = -2; d <= 2 && !near; ++d) near = k + d >= 0 && k + d < nz && has[static_cast<std::size_t>(k + d)];
                if (near) todo.push_back(k);
            }
        }
        // Only what is written is kept: float probabilities with --float, else p * 255 as uint8 (a quarter).
        Volume<float> prob;
        Volume<std::uint8_t> quantised;
        if (o.float_output) prob = Volume<float>(g, 0.f);
        else quantised = Volume<std::uint8_t>(g, 0);
        // Slices are resampled to the grid and back on `threads` workers (each writes its own slice): with a GPU's
        // batch of 16, doing it on one thread would leave the GPU waiting most of the time.
        std::vector<float> input(static_cast<std::size_t>(batch * C * S * S));
        for (std::size_t t0 = 0; t0 < todo.size(); t0 += static_cast<std::size_t>(batch)) {
            const auto n = static_cast<std::int64_t>(std::min<std::size_t>(static_cast<std::size_t>(batch), todo.size() - t0));
            parallel_for(n, o.threads, [&](std::int64_t b) {
                float* x = input.data() + static_cast<std::size_t>(b * C * S * S);
                sample_image(scan, &lungs.mask, grid, todo[t0 + static_cast<std::size_t>(b)], window, x);
                for (std::int64_t i = 0; i < C * S * S; ++i) x[i] = (x[i] - mean) * inv_std;
            });
            const torch::Tensor p = forward_float(model, torch::from_blob(input.data(), {n, C, S, S}).to(device), mode).to(torch::kCPU).contiguous();
            const float* pv = p.data_ptr<float>();
            parallel_for(n, o.threads, [&](std::int64_t b) {
                const std::int64_t k = todo[t0 + static_cast<std::size_t>(b)];
                const std::size_t off = static_cast<std::size_t>(k) * plane;
                if (o.float_output) {
                    unsample_slice(pv + b * S * S, grid, g, k, prob.voxels.data() + off);
                } else {
                    std::vector<float> slice(plane);
                    unsample_slice(pv + b * S * S, grid, g, k, slice.data());
                    for (std::size_t i = 0; i < plane; ++i)
                        quantised.voxels[off + i] = static_cast<std::uint8_t>(std::lround(std::clamp(slice[i], 0.f, 1.f) * 255));
                }
            });
        }
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
        sum.slices += static_cast<std::int64_t>(todo.size());
        progress.advance();
    }
    return sum;
}

}  // namespace nodulecad
