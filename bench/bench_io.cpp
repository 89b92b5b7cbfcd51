// I/O benchmarks: reading a LUNA16-sized scan (512x512x300 MET_SHORT, 150 MiB) must cost about what reading the
// file costs, so the baseline here is a plain fread of the same bytes into a freshly allocated buffer. The same scan
// as NIfTI and as an uncompressed DICOM series (goal: at most 1.5x the MetaImage read), and as an RLE-compressed
// series (decoded by GDCM in a child process).
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "nodulecad/core/files.hpp"
#include "nodulecad/core/geometry.hpp"
#include "nodulecad/io/dicom.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/io/nifti.hpp"
#include "nodulecad/io/tables.hpp"

#ifdef NODULECAD_BENCH_GDCM
#include <gdcmImageChangeTransferSyntax.h>
#include <gdcmImageReader.h>
#include <gdcmImageWriter.h>
#endif

namespace {

using namespace nodulecad;

// Writes the benchmark scans once per process (kept in the page cache, like a scan read twice in a pipeline).
struct ScanFiles {
    std::string dir;
    std::string raw_mhd, zraw_mhd, nii, nii_gz, dicom;  // dicom: "" when this build has no GDCM
    ScanFiles() {
        dir = (std::filesystem::temp_directory_path() / ("nodulecad-bench-" + std::to_string(::getpid()))).string();
        std::filesystem::create_directories(dir);
        Geometry g;
        g.size = {512, 512, 300};
        g.spacing = {0.703125, 0.703125, 1.25};
        g.origin = {-180, -180, -375};
        g.direction = {-1, 0, 0, 0, -1, 0, 0, 0, 1};
        Volume<std::int16_t> v(g);
        // CT-like content: air outside a body disc, tissue and a noisy lung texture, so zlib has real work.
        std::uint32_t state = 12345;
        for (std::int64_t k = 0; k < 300; ++k)
            for (std::int64_t j = 0; j < 512; ++j)
                for (std::int64_t i = 0; i < 512; ++i) {
                    state = state * 1664525u + 1013904223u;
                    const double x = (static_cast<double>(i) - 256) / 230, y = (static_cast<double>(j) - 256) / 180;
                    const bool body = x * x + y * y < 1, lung = body && ((x + 0.45) * (x + 0.45) / 0.1 + y * y / 0.5 < 1 ||
                                                                           (x - 0.45) * (x - 0.45) / 0.1 + y * y / 0.5 < 1);
                    const int noise = static_cast<int>(state >> 27) - 16;
                    v.at(i, j, k) = static_cast<std::int16_t>(lung ? -850 + noise : body ? 40 + noise : -1000);
                }
        raw_mhd = dir + "/scan.mhd";
        zraw_mhd = dir + "/scanz.mhd";
        write_metaimage(raw_mhd, v);
        WriteOptions w;
        w.compress = true;
        w.compression_level = 1;
        write_metaimage(zraw_mhd, v, w);
        nii = dir + "/scan.nii";
        nii_gz = dir + "/scan.nii.gz";
        write_nifti(nii, v);
        write_nifti(nii_gz, v);
        if (dicom_supported()) {
            dicom = dir + "/series";
            DicomWriteOptions d;
            d.series_uid = "2.25.42";
            write_dicom_series(dicom, v, d);  // 300 uncompressed files, as scanners and LIDC-IDRI store them
        }
    }
    ~ScanFiles() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
};

ScanFiles& files() {
    static ScanFiles f;
    return f;
}

constexpr std::int64_t kScanBytes = std::int64_t{512} * 512 * 300 * 2;

void BM_FreadBaseline_512x512x300(benchmark::State& state) {
    const std::string raw = files().dir + "/scan.raw";
    for (auto _ : state) {
        std::unique_ptr<std::int16_t[]> buf(new std::int16_t[static_cast<std::size_t>(kScanBytes / 2)]);
        std::FILE* f = std::fopen(raw.c_str(), "rb");
        const std::size_t got = std::fread(buf.get(), 1, static_cast<std::size_t>(kScanBytes), f);
        std::fclose(f);
        benchmark::DoNotOptimize(buf.get());
        if (got != static_cast<std::size_t>(kScanBytes)) state.SkipWithError("short read");
    }
    state.SetBytesProcessed(state.iterations() * kScanBytes);
}
BENCHMARK(BM_FreadBaseline_512x512x300)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ReadMetaImage_512x512x300_short(benchmark::State& state) {
    const std::string path = files().raw_mhd;
    for (auto _ : state) {
        AnyVolume v = read_metaimage(path);
        benchmark::DoNotOptimize(std::get<Volume<std::int16_t>>(v).voxels.data());
    }
    state.SetBytesProcessed(state.iterations() * kScanBytes);
}
BENCHMARK(BM_ReadMetaImage_512x512x300_short)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ReadMetaImage_512x512x300_short_zlib(benchmark::State& state) {
    const std::string path = files().zraw_mhd;
    for (auto _ : state) {
        AnyVolume v = read_metaimage(path);
        benchmark::DoNotOptimize(std::get<Volume<std::int16_t>>(v).voxels.data());
    }
    state.SetBytesProcessed(state.iterations() * kScanBytes);
}
BENCHMARK(BM_ReadMetaImage_512x512x300_short_zlib)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ReadNifti_512x512x300_short(benchmark::State& state) {
    const std::string path = state.range(0) ? files().nii_gz : files().nii;
    for (auto _ : state) {
        AnyVolume v = read_nifti(path);
        benchmark::DoNotOptimize(std::get<Volume<std::int16_t>>(v).voxels.data());
    }
    state.SetBytesProcessed(state.iterations() * kScanBytes);
    state.SetLabel(state.range(0) ? ".nii.gz" : ".nii");
}
BENCHMARK(BM_ReadNifti_512x512x300_short)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// A DICOM series of 300 files: listing and sorting by position, then decoding each slice (Arg: threads).
void BM_ReadDicomSeries_512x512x300(benchmark::State& state) {
    if (files().dicom.empty()) {
        state.SkipWithError("this build has no GDCM");
        return;
    }
    DicomReadOptions o;
    o.threads = static_cast<int>(state.range(0));
    for (auto _ : state) {
        Volume<std::int16_t> v = read_dicom_series(files().dicom, o);
        benchmark::DoNotOptimize(v.voxels.data());
    }
    state.SetBytesProcessed(state.iterations() * kScanBytes);
}
BENCHMARK(BM_ReadDicomSeries_512x512x300)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

#ifdef NODULECAD_BENCH_GDCM
// The same series with every file RLE-compressed by GDCM's encoder (made once, on first use: about 15 s).
const std::string& rle_series() {
    static const std::string folder = [] {
        const std::string out = files().dir + "/series-rle";
        std::filesystem::create_directories(out);
        for (const auto& e : std::filesystem::directory_iterator(files().dicom)) {
            gdcm::ImageReader r;
            r.SetFileName(e.path().c_str());
            gdcm::ImageChangeTransferSyntax change;
            change.SetTransferSyntax(gdcm::TransferSyntax::RLELossless);
            if (!r.Read()) return std::string();
            change.SetInput(r.GetImage());
            if (!change.Change()) return std::string();
            gdcm::ImageWriter w;
            w.SetFile(r.GetFile());
            w.SetImage(change.GetOutput());
            w.SetFileName((out + "/" + e.path().filename().string()).c_str());
            if (!w.Write()) return std::string();
        }
        return out;
    }();
    return folder;
}

// Compressed slices: GDCM's RLE decoder in a child process, the planes back through shared memory (Arg: threads).
void BM_ReadDicomSeriesRle_512x512x300(benchmark::State& state) {
    if (files().dicom.empty() || rle_series().empty()) {
        state.SkipWithError("no RLE series (this build has no GDCM, or GDCM could not encode it)");
        return;
    }
    DicomReadOptions o;
    o.threads = static_cast<int>(state.range(0));
    for (auto _ : state) {
        Volume<std::int16_t> v = read_dicom_series(rle_series(), o);
        benchmark::DoNotOptimize(v.voxels.data());
    }
    state.SetBytesProcessed(state.iterations() * kScanBytes);
}
BENCHMARK(BM_ReadDicomSeriesRle_512x512x300)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
#endif

void BM_WriteMetaImage_512x512x300_short(benchmark::State& state) {
    const Volume<std::int16_t> v = read_volume<std::int16_t>(files().raw_mhd);
    const std::string out = files().dir + "/write.mhd";
    for (auto _ : state) write_metaimage(out, v);
    state.SetBytesProcessed(state.iterations() * kScanBytes);
}
BENCHMARK(BM_WriteMetaImage_512x512x300_short)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_WorldToIndex(benchmark::State& state) {
    Geometry g;
    g.spacing = {0.703125, 0.703125, 1.25};
    g.origin = {-180, -180, -375};
    g.direction = {-1, 0, 0, 0, -1, 0, 0, 0, 1};
    const IndexWorldTransform t(g);
    Vec3 w{10.5, -20.25, -100};
    for (auto _ : state) {
        w[0] += 1e-9;
        benchmark::DoNotOptimize(t.to_index(w));
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WorldToIndex);


void BM_ReadLuna16ExcludedAnnotations(benchmark::State& state) {
    const std::string path = std::string(NODULECAD_LUNA16_DIR) + "/annotations_excluded.csv";
    if (!std::filesystem::exists(path)) {
        state.SkipWithError("LUNA16 annotation files not found");
        return;
    }
    for (auto _ : state) benchmark::DoNotOptimize(read_annotations(path).size());
    state.SetItemsProcessed(state.iterations() * 35192);
}
BENCHMARK(BM_ReadLuna16ExcludedAnnotations)->Unit(benchmark::kMillisecond);

}  // namespace
