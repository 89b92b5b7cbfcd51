// Lung segmentation on a LUNA16-sized scan (the full-preset synthetic scan 0 of seed 2026: 512x512x296, 1 mm
// slices). Goal for the robust method: at most 1 s on 2 cores (the seed recipe in Python: about 40 s).
#include <benchmark/benchmark.h>

#include "nodulecad/core/threads.hpp"
#include "nodulecad/preprocess/lung_segmentation.hpp"
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

}  // namespace
