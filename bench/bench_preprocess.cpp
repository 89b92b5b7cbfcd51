// Lung segmentation and slice resampling on a LUNA16-sized scan (the full-preset synthetic scan 0 of seed 2026:
// 512x512x296, 1 mm slices). Goal for the robust method: at most 1 s on 2 cores (the seed recipe in Python: about
// 40 s).
#include <benchmark/benchmark.h>

#include "nodulecad/core/threads.hpp"
#include "nodulecad/preprocess/lung_segmentation.hpp"
#include "nodulecad/preprocess/slice_grid.hpp"
#include "nodulecad/synth/render.hpp"

namespace {

using namespace nodulecad;

const Volume<std::int16_t>& big_scan() {
    static const Volume<std::int16_t> scan = render_scan(draw_scan_spec(Preset::Full, 2026, 0, false), default_thread_count()).scan;
    return scan;
}

void BM_SegmentLungsRobust_512x512x296(benchmark::State& state) {
    const auto& scan = big_scan();
    LungSegmentationOptions o;
    o.threads = default_thread_count();
    for (auto _ : state) benchmark::DoNotOptimize(segment_lungs_robust(scan, o).mask.voxels.data());
    state.SetItemsProcessed(state.iterations() * scan.geometry.voxel_count());
}
BENCHMARK(BM_SegmentLungsRobust_512x512x296)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SegmentLungsSeedRecipe_512x512x296(benchmark::State& state) {
    const auto& scan = big_scan();
    for (auto _ : state) benchmark::DoNotOptimize(segment_lungs_seed(scan, default_thread_count()).mask.voxels.data());
    state.SetItemsProcessed(state.iterations() * scan.geometry.voxel_count());
}
BENCHMARK(BM_SegmentLungsSeedRecipe_512x512x296)->Unit(benchmark::kMillisecond)->UseRealTime();

// The U-Net path's CPU work on every slice of that scan, as `predict` does it outside the network: each slice
// resampled onto the grid fitted to the lungs (3 channels: one slice of context each side, lung-masked) and a
// network-sized output put back onto the scan grid. Arg: the grid's pixel in 0.1 mm (10: the CPU demo's 1.0 mm;
// 7: the CUDA recipe's 0.7 mm). On a GPU this is what the device waits for.
void BM_SliceResampling_512x512x296(benchmark::State& state) {
    const auto& scan = big_scan();
    static const Volume<std::uint8_t> lungs = [&] {
        LungSegmentationOptions o;
        o.threads = default_thread_count();
        return segment_lungs_robust(scan, o).mask;
    }();
    const SliceGrid grid = grid_fitted(lungs, static_cast<double>(state.range(0)) / 10, 16, 10.0);
    const WindowOptions window{-1000, 400, 1, true};
    const std::int64_t slices = scan.geometry.size[2], S = grid.size;
    const std::size_t plane = static_cast<std::size_t>(scan.geometry.size[0] * scan.geometry.size[1]);
    std::vector<float> out(plane * static_cast<std::size_t>(slices));
    for (auto _ : state)
        parallel_for(slices, default_thread_count(), [&](std::int64_t k) {
            std::vector<float> input(static_cast<std::size_t>(3 * S * S));
            sample_image(scan, &lungs, grid, k, window, input.data());
            unsample_slice(input.data() + S * S, grid, scan.geometry, k, out.data() + static_cast<std::size_t>(k) * plane);
        });
    benchmark::DoNotOptimize(out.data());
    state.counters["grid_px"] = static_cast<double>(S);
    state.SetItemsProcessed(state.iterations() * slices);
}
BENCHMARK(BM_SliceResampling_512x512x296)->Arg(10)->Arg(7)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
