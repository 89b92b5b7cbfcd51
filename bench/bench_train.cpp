// Preparing U-Net training samples (train/slice_sample): one 512x512 slice with 3 channels (2.5D context), float16
// as preprocess stores it, read from the memory-mapped dataset and augmented (bilinear, scale 0.9-1.1) on one
// thread. On CUDA a training step of 16 such images takes tens of milliseconds, which sets how many loader
// threads the trainer needs (train --loader-threads).
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "nodulecad/core/files.hpp"
#include "nodulecad/core/random.hpp"
#include "nodulecad/io/npy.hpp"
#include "nodulecad/io/npy_map.hpp"
#include "nodulecad/train/slice_sample.hpp"

namespace {

using namespace nodulecad;
namespace fs = std::filesystem;

constexpr int kSize = 512, kChannels = 3, kRows = 4;

struct Dataset {
    std::string dir;
    std::unique_ptr<NpyMap> images, masks;
    SliceSource src;
    Dataset() {
        dir = (fs::temp_directory_path() / ("nodulecad-bench-train-" + std::to_string(::getpid()))).string();
        fs::create_directories(dir);
        Rng rng(1);
        std::string img = format_npy_header(std::string("<f2"), {kRows, kChannels, kSize, kSize});
        for (std::int64_t n = 0; n < std::int64_t{kRows} * kChannels * kSize * kSize; ++n) {
            const std::uint16_t h = float_to_half(static_cast<float>(rng.uniform()));
            img.append(reinterpret_cast<const char*>(&h), 2);
        }
        write_file_atomically(dir + "/images.npy", img);
        std::vector<std::uint8_t> m(static_cast<std::size_t>(kRows) * kSize * kSize, 0);
        for (int r = 0; r < kRows; ++r)
            for (int y = 250; y < 262; ++y)
                for (int x = 300; x < 312; ++x) m[static_cast<std::size_t>((r * kSize + y) * kSize + x)] = 1;
        write_npy(dir + "/masks.npy", {kRows, 1, kSize, kSize}, m);
        images = std::make_unique<NpyMap>(dir + "/images.npy");
        masks = std::make_unique<NpyMap>(dir + "/masks.npy");
        src = {images.get(), masks.get(), kChannels, kSize, 0.3, 0.2};
    }
    ~Dataset() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

Dataset& dataset() {
    static Dataset d;
    return d;
}

void fill(benchmark::State& state, bool augment, int crop) {
    const Dataset& d = dataset();
    const int w = crop > 0 ? crop : kSize;
    std::vector<float> x(static_cast<std::size_t>(kChannels) * w * w), y(static_cast<std::size_t>(w) * w);
    std::uint64_t n = 0;
    for (auto _ : state) {
        fill_sample(d.src, static_cast<std::int64_t>(n % kRows), augment, crop, Rng(n), x.data(), y.data());
        benchmark::DoNotOptimize(x.data());
        ++n;
    }
    state.SetItemsProcessed(state.iterations());
}

void BM_FillSample_512x3_Augmented(benchmark::State& state) { fill(state, true, 0); }
void BM_FillSample_512x3_Plain(benchmark::State& state) { fill(state, false, 0); }
void BM_FillSample_Crop128x3_Augmented(benchmark::State& state) { fill(state, true, 128); }
BENCHMARK(BM_FillSample_512x3_Augmented)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FillSample_512x3_Plain)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FillSample_Crop128x3_Augmented)->Unit(benchmark::kMillisecond);

}  // namespace
