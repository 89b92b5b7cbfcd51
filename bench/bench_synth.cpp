// Synthetic cohort benchmarks: one `full` preset scan (LUNA16-like 512x512, spacing drawn per scan) generated
// end to end (spec with vessel trees + rendering + noise), on all cores. Goal: at most 3 s on 2 cores.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <unistd.h>

#include "nodulecad/core/threads.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/synth/render.hpp"

namespace {

using namespace nodulecad;

void BM_SynthFullScan(benchmark::State& state) {
    const int index = static_cast<int>(state.range(0));
    std::int64_t voxels = 0;
    for (auto _ : state) {
        const ScanSpec spec = draw_scan_spec(Preset::Full, 2026, index, false);
        const RenderedScan r = render_scan(spec, default_thread_count());
        voxels = spec.geometry.voxel_count();
        state.counters["slices"] = static_cast<double>(spec.geometry.size[2]);
        state.counters["slice_mm"] = spec.geometry.spacing[2];
        state.counters["vessel_segments"] = static_cast<double>(spec.vessels.segments.size());
        benchmark::DoNotOptimize(r.scan.voxels.data());
    }
    state.SetItemsProcessed(state.iterations() * voxels);
}
// Indices chosen to cover LUNA16's slice spacings (see the slices/slice_mm counters).
BENCHMARK(BM_SynthFullScan)->Arg(0)->Arg(1)->Arg(2)->Arg(3)->Arg(4)->Arg(5)->Arg(13)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SynthFullScanWrite(benchmark::State& state) {
    const ScanSpec spec = draw_scan_spec(Preset::Full, 2026, 0, false);
    const RenderedScan r = render_scan(spec, default_thread_count());
    const std::string dir = (std::filesystem::temp_directory_path() / ("nodulecad-bench-synth-" + std::to_string(::getpid()))).string();
    std::filesystem::create_directories(dir);
    for (auto _ : state) {
        write_metaimage(dir + "/scan.mhd", r.scan);
        write_metaimage(dir + "/lungs.mhd", r.lungs);
        write_metaimage(dir + "/nodules.mhd", r.nodules);
    }
    std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SynthFullScanWrite)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
