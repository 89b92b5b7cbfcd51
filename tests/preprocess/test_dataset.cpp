#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "nodulecad/core/files.hpp"
#include "nodulecad/io/csv.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/io/npy.hpp"
#include "nodulecad/io/tables.hpp"
#include "nodulecad/preprocess/dataset.hpp"
#include "nodulecad/synth/cohort.hpp"
#include "synth/cohort_fixture.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

// One small cohort (half of it flipped) for all dataset tests.
const std::string& cohort() {
    static test::TempDir dir;
    static const std::string path = [] {
        const CohortOptions o = test::small_cohort(dir.path("cohort"), 6, 8, 0.5, 2);
        write_cohort(o);
        return o.out_dir;
    }();
    return path;
}

DatasetOptions options(const std::string& out) {
    DatasetOptions o;
    o.data_dir = cohort();
    o.out_dir = out;
    o.size = 128;
    o.pixel_mm = 2.8;
    o.val_fraction = 0.34;
    o.threads = 2;
    return o;
}

struct Loaded {
    NpyArray<float> images;
    NpyArray<std::uint8_t> masks;
    CsvTable index;
};

Loaded load(const std::string& dir) {
    return {read_npy<float>(dir + "/images.npy"), read_npy<std::uint8_t>(dir + "/masks.npy"), read_csv(dir + "/index.csv", true)};
}

TEST(Dataset, ShapesSplitAndCounts) {
    test::TempDir dir;
    const DatasetSummary s = build_dataset(options(dir.path("prep")));
    const Loaded d = load(dir.path("prep"));
    ASSERT_EQ(d.images.shape, (std::vector<std::int64_t>{s.samples, 1, 128, 128}));
    ASSERT_EQ(d.masks.shape, (std::vector<std::int64_t>{s.samples, 1, 128, 128}));
    ASSERT_EQ(static_cast<std::int64_t>(d.index.rows.size()), s.samples);
    EXPECT_EQ(s.train + s.val, s.samples);
    EXPECT_GT(s.positives, 0);
    EXPECT_GT(s.samples - s.positives, 0);
    // Split by patient: no seriesuid on both sides.
    std::set<std::string> train, val;
    const std::size_t uid = d.index.column("seriesuid"), split = d.index.column("split"), pos = d.index.column("positive");
    for (std::size_t r = 0; r < d.index.rows.size(); ++r) {
        (d.index.rows[r].fields[split] == "val" ? val : train).insert(d.index.rows[r].fields[uid]);
        // Positives have nodule pixels, negatives none.
        std::int64_t on = 0;
        for (std::size_t p = 0; p < 128 * 128; ++p) on += d.masks.data[r * 128 * 128 + p];
        EXPECT_EQ(on > 0, d.index.rows[r].fields[pos] == "1") << "row " << r;
    }
    for (const auto& u : val) EXPECT_EQ(train.count(u), 0u) << u;
    EXPECT_EQ(val.size(), 2u);  // 0.34 of 6 patients
    const auto stats = nlohmann::json::parse(read_file(dir.path("prep/stats.json")));
    EXPECT_NEAR(stats["train_mean"].get<double>(), s.train_mean, 1e-12);
    EXPECT_GT(s.train_std, 0.1);
    for (float v : d.images.data) ASSERT_TRUE(v >= 0 && v <= 1);
}

// nodule_weight: each nodule's 1 / (slices it crosses) summed over the nodules of the slice, so a scan's weights add
// up to its number of nodules and a sampler by weight draws every nodule equally often.
TEST(Dataset, NoduleWeightsAddUpToTheNodulesOfEachScan) {
    test::TempDir dir;
    build_dataset(options(dir.path("prep")));
    const CsvTable ix = read_csv(dir.path("prep/index.csv"), true);
    const std::size_t c_uid = ix.column("seriesuid"), c_w = ix.column("nodule_weight"), c_pos = ix.column("positive"), c_n = ix.column("nodules");
    std::map<std::string, double> sum;
    std::map<std::string, int> slices;
    for (const auto& r : ix.rows) {
        const double w = std::stod(r.fields[c_w]);
        EXPECT_EQ(w > 0, r.fields[c_pos] == "1");
        // At most one full share per nodule on the slice, at least 1 / (slices of the scan) each.
        EXPECT_LE(w, std::stod(r.fields[c_n]) + 1e-12);
        sum[r.fields[c_uid]] += w;
        slices[r.fields[c_uid]] += r.fields[c_pos] == "1";
    }
    std::map<std::string, int> nodules;
    for (const auto& a : read_annotations(cohort() + "/annotations.csv")) ++nodules[a.seriesuid];
    int scans_with_nodules = 0, fractions = 0;
    for (const auto& [uid, n] : nodules) {
        if (!sum.count(uid)) continue;  // a scan the dataset left out
        EXPECT_NEAR(sum[uid], n, 1e-9) << uid;
        EXPECT_GE(slices[uid], n) << uid;  // every nodule crosses at least one slice
        fractions += slices[uid] > n;      // most cross several, and their weights are fractions
        ++scans_with_nodules;
    }
    EXPECT_GE(scans_with_nodules, 3);
    EXPECT_GE(fractions, 2);
}

TEST(Dataset, IndexMapsSamplesBackToWorldCoordinates) {
    test::TempDir dir;
    build_dataset(options(dir.path("prep")));
    const Loaded d = load(dir.path("prep"));
    const auto ann = read_annotations(cohort() + "/annotations.csv");
    const CsvTable& ix = d.index;
    const std::size_t c_uid = ix.column("seriesuid"), c_scan = ix.column("scan"), c_z = ix.column("world_z"), c_x0 = ix.column("x0_mm"),
                      c_y0 = ix.column("y0_mm"), c_px = ix.column("pixel_mm"), c_slice = ix.column("slice");
    int checked = 0;
    for (const auto& a : ann) {
        // The sample whose slice is nearest the nodule centre.
        std::size_t best = ix.rows.size();
        double best_dz = 1e9;
        for (std::size_t r = 0; r < ix.rows.size(); ++r) {
            if (ix.rows[r].fields[c_uid] != a.seriesuid) continue;
            const double dz = std::fabs(std::stod(ix.rows[r].fields[c_z]) - a.world[2]);
            if (dz < best_dz) best_dz = dz, best = r;
        }
        ASSERT_LT(best, ix.rows.size()) << a.seriesuid;
        const auto& f = ix.rows[best].fields;
        const MetaImageHeader h = read_metaimage_header(cohort() + "/" + f[c_scan]);
        EXPECT_LE(best_dz, h.geometry.spacing[2] / 2 + 1e-9);  // within half a voxel along z
        // world_z is the world z of the recorded slice.
        EXPECT_NEAR(index_to_world(h.geometry, {0, 0, std::stod(f[c_slice])})[2], std::stod(f[c_z]), 1e-9);
        // The centroid of the mask blob around the predicted pixel maps back to the nodule's world x, y.
        const double px = std::stod(f[c_px]);
        const double u = (a.world[0] - std::stod(f[c_x0])) / px, v = (a.world[1] - std::stod(f[c_y0])) / px;
        double su = 0, sv = 0, n = 0;
        const double reach = a.diameter_mm / 2 / px + 1;
        for (int y = 0; y < 128; ++y)
            for (int x = 0; x < 128; ++x)
                if (d.masks.data[best * 128 * 128 + static_cast<std::size_t>(y * 128 + x)] && std::hypot(x - u, y - v) <= reach) su += x, sv += y, n += 1;
        ASSERT_GT(n, 0) << a.seriesuid;
        EXPECT_NEAR(std::stod(f[c_x0]) + su / n * px, a.world[0], 0.75 * std::max(px, h.geometry.spacing[0]));
        EXPECT_NEAR(std::stod(f[c_y0]) + sv / n * px, a.world[1], 0.75 * std::max(px, h.geometry.spacing[1]));
        ++checked;
    }
    EXPECT_GE(checked, 3);
}

TEST(Dataset, ContextChannelsFloat16AndLungMasking) {
    test::TempDir dir;
    build_dataset(options(dir.path("plain")));
    DatasetOptions ctx = options(dir.path("ctx"));
    ctx.context = 1;
    ctx.float16 = true;
    build_dataset(ctx);
    DatasetOptions masked = options(dir.path("masked"));
    masked.mask_lungs = true;
    build_dataset(masked);
    const Loaded a = load(dir.path("plain")), b = load(dir.path("ctx")), m = load(dir.path("masked"));
    ASSERT_EQ(b.images.shape[1], 3);
    ASSERT_EQ(a.images.shape[0], b.images.shape[0]);  // the same samples
    const std::size_t plane = 128 * 128;
    for (std::size_t r = 0; r < static_cast<std::size_t>(a.images.shape[0]); ++r)
        for (std::size_t p = 0; p < plane; p += 37)
            ASSERT_NEAR(b.images.data[(r * 3 + 1) * plane + p], a.images.data[r * plane + p], 1e-3);  // centre channel, half precision
    // Masked images: dark (0) outside the lungs, identical to the plain ones inside.
    std::int64_t zero = 0, same = 0;
    for (std::size_t n = 0; n < a.images.data.size(); ++n) {
        if (m.images.data[n] == 0) ++zero;
        else same += m.images.data[n] == a.images.data[n];
    }
    EXPECT_GT(zero, static_cast<std::int64_t>(a.images.data.size() / 3));
    EXPECT_EQ(same + zero, static_cast<std::int64_t>(a.images.data.size()));
}

TEST(Dataset, ResumeSkipsFinishedScansAndRedoesChangedOptions) {
    test::TempDir dir;
    const DatasetSummary first = build_dataset(options(dir.path("prep")));
    EXPECT_EQ(first.processed, 6);
    const std::string images = read_file(dir.path("prep/images.npy"));
    // Interrupted run: one part lost.
    std::filesystem::remove_all(dir.path("prep/images.npy"));
    const auto parts = std::filesystem::directory_iterator(dir.path("prep/parts"));
    for (const auto& e : parts)
        if (e.path().extension() == ".json") {
            std::filesystem::remove(e.path());
            break;
        }
    const DatasetSummary second = build_dataset(options(dir.path("prep")));
    EXPECT_EQ(second.resumed, 5);
    EXPECT_EQ(second.processed, 1);
    EXPECT_EQ(read_file(dir.path("prep/images.npy")), images);
    DatasetOptions bigger = options(dir.path("prep"));
    bigger.size = 96;
    EXPECT_EQ(build_dataset(bigger).processed, 6);
}

// Sharded (issue 18): shards 0/3, 1/3 and 2/3 one after another into one folder; the dataset appears with the shard
// that completes the parts and is one run's, byte for byte.
TEST(Dataset, ShardsMakeTheSameDatasetAsOneRun) {
    test::TempDir dir;
    build_dataset(options(dir.path("one")));
    for (int k = 0; k < 3; ++k) {
        DatasetOptions o = options(dir.path("shards"));
        o.shard = {k, 3};
        const DatasetSummary s = build_dataset(o);
        EXPECT_EQ(s.processed, 2) << k;  // scans k and k + 3 of 6
        EXPECT_EQ(s.resumed, 2 * k);
        EXPECT_EQ(s.pending, 4 - 2 * k);
        EXPECT_EQ(s.written, k == 2);
        EXPECT_EQ(std::filesystem::exists(dir.path("shards/images.npy")), k == 2);
    }
    for (const char* f : {"images.npy", "masks.npy", "index.csv", "stats.json"})
        EXPECT_EQ(read_file(dir.path("shards/") + f), read_file(dir.path("one/") + f)) << f;
}

TEST(Dataset, ValidationSubsetsAndLegacyRadius) {
    test::TempDir dir;
    DatasetOptions o = options(dir.path("prep"));
    o.val_subsets = {1, 4};
    build_dataset(o);
    const CsvTable ix = read_csv(dir.path("prep/index.csv"), true);
    for (const auto& r : ix.rows)
        EXPECT_EQ(r.fields[ix.column("split")] == "val", r.fields[ix.column("subset")] == "1" || r.fields[ix.column("subset")] == "4");
    DatasetOptions legacy = options(dir.path("legacy"));
    legacy.legacy_radius = true;
    const DatasetSummary l = build_dataset(legacy);
    const DatasetSummary n = build_dataset(options(dir.path("normal")));
    EXPECT_GT(l.positives, n.positives);  // balls twice as wide cross more slices
}

TEST(Dataset, MinimumMaskDiameterWidensSmallNodulesTargetsAndRedoesTheParts) {
    test::TempDir dir;
    DatasetOptions o = options(dir.path("prep"));
    const DatasetSummary plain = build_dataset(o);
    const std::string plain_masks = read_file(dir.path("prep/masks.npy"));
    EXPECT_EQ(read_file(dir.path("prep/stats.json")).find("mask_min_diameter_mm"), std::string::npos);
    o.mask_min_diameter_mm = 40;  // above every test nodule: each one's target becomes a 40-mm ball
    const DatasetSummary wide = build_dataset(o);  // the same folder: its parts were made without it and are redone
    EXPECT_GT(wide.positives, plain.positives);
    EXPECT_NE(read_file(dir.path("prep/masks.npy")), plain_masks);
    EXPECT_EQ(nlohmann::json::parse(read_file(dir.path("prep/stats.json")))["options"]["mask_min_diameter_mm"], 40.0);
    o.mask_min_diameter_mm = -1;
    test::expect_error([&] { build_dataset(o); }, {"mask_min_diameter_mm"});
}

TEST(Dataset, BadInputsAndScansWithoutLungs) {
    test::TempDir dir;
    DatasetOptions o = options(dir.path("out"));
    o.data_dir = dir.path("nowhere");
    test::expect_error([&] { build_dataset(o); }, {"nowhere", "data folder not found"});
    std::filesystem::create_directories(dir.path("empty"));
    o.data_dir = dir.path("empty");
    test::expect_error([&] { build_dataset(o); }, {"no scans"});
    // A folder with one scan of soft tissue only, and annotations naming a scan that is not there.
    std::filesystem::create_directories(dir.path("odd/subset0"));
    Geometry g;
    g.size = {40, 40, 10};
    g.spacing = {2, 2, 3};
    write_metaimage(dir.path("odd/subset0/tissue.mhd"), Volume<std::int16_t>(g, 40));
    o.data_dir = dir.path("odd");
    test::expect_error([&] { build_dataset(o); }, {"annotations.csv", "not found"});
    write_annotations(dir.path("odd/annotations.csv"), {{"ghost", {0, 0, 0}, 5}});
    const DatasetSummary s = build_dataset(o);
    EXPECT_EQ(s.skipped_no_lungs, std::vector<std::string>{"tissue"});
    EXPECT_EQ(s.annotations_without_scan, std::vector<std::string>{"ghost"});
    EXPECT_EQ(s.samples, 0);
    o.window_lo = 400;
    o.window_hi = -1000;
    test::expect_error([&] { build_dataset(o); }, {"window upper HU must be above the lower, got 400 to -1000"});
}

}  // namespace
}  // namespace nodulecad
