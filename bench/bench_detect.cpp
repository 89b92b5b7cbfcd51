// Blob candidates (detect --blobs) on a demo-preset synthetic scan (seed 2026, scan 0: 256x256 slices, 2.5 mm) and
// on the LUNA16-sized full-preset scan: the lung mask is computed once outside the loop, the filter inside.
#include <benchmark/benchmark.h>

#include "nodulecad/core/threads.hpp"
#include "nodulecad/detect/blobs.hpp"
#include "nodulecad/preprocess/lung_segmentation.hpp"
#include "nodulecad/synth/render.hpp"

namespace {

using namespace nodulecad;

struct ScanAndLungs {
    Volume<std::int16_t> scan;
    Volume<std::uint8_t> lungs;
};

const ScanAndLungs& scan_of(Preset preset) {
    static ScanAndLungs demo, full;
    ScanAndLungs& s = preset == Preset::Demo ? demo : full;
    if (s.scan.voxels.empty()) {
        s.scan = render_scan(draw_scan_spec(preset, 2026, 0, false), default_thread_count()).scan;
        LungSegmentationOptions o;
        o.threads = default_thread_count();
        s.lungs = segment_lungs_robust(s.scan, o).mask;
    }
    return s;
}

void run_blobs(benchmark::State& state, Preset preset) {
    const ScanAndLungs& s = scan_of(preset);
    BlobOptions o;
    o.threads = default_thread_count();
    for (auto _ : state) benchmark::DoNotOptimize(detect_blobs("u", s.scan, s.lungs, o).size());
    state.SetItemsProcessed(state.iterations() * s.scan.geometry.voxel_count());
}

void BM_DetectBlobs_DemoScan(benchmark::State& state) { run_blobs(state, Preset::Demo); }
BENCHMARK(BM_DetectBlobs_DemoScan)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_DetectBlobs_FullScan(benchmark::State& state) { run_blobs(state, Preset::Full); }
BENCHMARK(BM_DetectBlobs_FullScan)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
