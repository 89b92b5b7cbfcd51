// The benchmarks' main: the allocator set as the command line sets it (core/allocator.hpp), so that what is
// measured here is what `nodulecad` does; then Google Benchmark's usual main.
#include <benchmark/benchmark.h>

#include "nodulecad/core/allocator.hpp"

int main(int argc, char** argv) {
    nodulecad::keep_freed_memory_for_reuse();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
