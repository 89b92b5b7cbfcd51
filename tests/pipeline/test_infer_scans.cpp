// `infer`: the quick pipeline's bundle on its own held-out scans gives the pipeline's candidates byte for byte; a
// re-run reuses finished scans; an unreadable scan is named and skipped while the others finish; a bundle made with
// other networks clears the earlier per-scan results.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/io/cohort_layout.hpp"
#include "nodulecad/io/csv.hpp"
#include "nodulecad/pipeline/infer_scans.hpp"
#include "nodulecad/pipeline/model_bundle.hpp"
#include "nodulecad/pipeline/pipeline.hpp"
#include "pipeline/quick_pipeline.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

namespace fs = std::filesystem;

InferOptions infer_options(const test::TempDir& dir, const std::string& data, const std::string& out) {
    InferOptions i;
    i.model = dir.path("work/model");
    i.data = data;
    i.out = out;
    i.device = "cpu";
    i.threads = 2;
    return i;
}

TEST(Infer, BundleReproducesThePipelinesHeldOutCandidatesAndResumes) {
    test::TempDir dir;
    run_pipeline(test::quick_pipeline(dir, 6));
    const auto w = [&](const std::string& p) { return dir.path("work/" + p); };

    const InferOptions opts = infer_options(dir, w("split/test"), dir.path("infer"));
    const auto start = std::chrono::steady_clock::now();
    const InferSummary s = infer_scans(opts);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // Where the time went: every step of a U-Net bundle took some, the 3D detector's none, and together no more
    // than the call.
    const InferTimes& t = s.times;
    EXPECT_GT(t.load, 0);
    EXPECT_GT(t.read, 0);
    EXPECT_GT(t.lungs, 0);
    EXPECT_GT(t.unet, 0);
    EXPECT_GT(t.candidates, 0);
    EXPECT_EQ(t.detector3d, 0);
    EXPECT_GT(t.fpr, 0);
    EXPECT_LE(t.load + t.read + t.lungs + t.unet + t.candidates + t.fpr, wall);
    // Each network's share of its step: some, and no more than the step.
    EXPECT_GT(t.unet_network, 0);
    EXPECT_LE(t.unet_network, t.unet);
    EXPECT_GT(t.fpr_network, 0);
    EXPECT_LE(t.fpr_network, t.fpr);
    EXPECT_EQ(t.detector3d_network, 0);
    EXPECT_EQ(s.scans, 2);
    EXPECT_EQ(s.done, 2);
    EXPECT_TRUE(s.failures.empty());
    EXPECT_EQ(read_file(s.candidates_file), read_file(w("candidates.csv")));
    EXPECT_EQ(read_file(s.submission), read_file(w("submission.csv")));
    EXPECT_EQ(read_csv(s.candidates_file, true).header,
              (std::vector<std::string>{"seriesuid", "coordX", "coordY", "coordZ", "probability", "diameter_mm"}));
    for (const ScanFile& f : find_scans(w("split/test"))) EXPECT_TRUE(fs::exists(dir.path("infer/scans/" + f.uid + ".csv"))) << f.uid;

    // Again: every scan is reused, the tables are the same.
    const InferSummary again = infer_scans(opts);
    EXPECT_EQ(again.done, 0);
    EXPECT_EQ(again.reused, 2);
    EXPECT_EQ(again.times.load + again.times.read + again.times.unet + again.times.fpr, 0);  // no network even loaded
    EXPECT_EQ(read_file(again.candidates_file), read_file(w("candidates.csv")));

    // One scan's result deleted: that scan alone is redone.
    const std::string uid = find_scans(w("split/test")).front().uid;
    fs::remove(dir.path("infer/scans/" + uid + ".csv"));
    const InferSummary third = infer_scans(opts);
    EXPECT_EQ(third.done, 1);
    EXPECT_EQ(third.reused, 1);
    EXPECT_EQ(read_file(third.submission), read_file(w("submission.csv")));

    // Sharded, the shards run one after another into one folder: the tables appear once every scan has its result
    // (2 scans: after shard 1, whatever N) and are the unsharded run's, byte for byte.
    for (const int n : {2, 3}) {
        SCOPED_TRACE(std::to_string(n) + " shards");
        const std::string out = dir.path("shards" + std::to_string(n));
        for (int k = 0; k < n; ++k) {
            InferOptions sharded = infer_options(dir, w("split/test"), out);
            sharded.shard = {k, n};
            const InferSummary r = infer_scans(sharded);
            EXPECT_EQ(r.in_shard, k < 2 ? 1 : 0);
            EXPECT_EQ(r.done, r.in_shard);
            EXPECT_EQ(r.tables, k >= 1);
            EXPECT_EQ(fs::exists(out + "/submission.csv"), k >= 1);
        }
        EXPECT_EQ(read_file(out + "/candidates.csv"), read_file(w("candidates.csv")));
        EXPECT_EQ(read_file(out + "/submission.csv"), read_file(w("submission.csv")));
    }
    // One shard, then a run without a shard: it does the rest and writes the same tables.
    InferOptions first = infer_options(dir, w("split/test"), dir.path("merged"));
    first.shard = {1, 2};
    EXPECT_FALSE(infer_scans(first).tables);
    const InferSummary rest = infer_scans(infer_options(dir, w("split/test"), dir.path("merged")));
    EXPECT_EQ(rest.done, 1);
    EXPECT_EQ(rest.reused, 1);
    EXPECT_EQ(read_file(rest.submission), read_file(w("submission.csv")));

    // Another bundle (the card changed): the earlier results are not mixed in.
    std::string card = read_file(w("model/model.json"));
    card.replace(card.find("\"max_per_scan\": 100"), 19, "\"max_per_scan\": 1");
    write_file_atomically(w("model/model.json"), card);
    const InferSummary other = infer_scans(opts);
    EXPECT_EQ(other.done, 2);
    EXPECT_EQ(other.candidates, 2);  // at most one a scan now
}

// The quick pipeline with `detector`, run: 15 peaks a scan for the 3D detector — every local maximum of its barely
// trained heatmap, so there are candidates to compare.
// With the segmentation head: components over 0.01, about the untrained prior, for the same reason. `blobs`: the
// strongest blobs a scan that no peak covers follow the peaks.
void run_quick_pipeline(const test::TempDir& dir, Detector detector, Detector3dHead head = Detector3dHead::Heatmap, int blobs = 0) {
    PipelineOptions o = test::quick_pipeline(dir, 6);
    o.detector = detector;
    o.det3d.head = head;
    o.peaks.threshold = 0;
    o.peaks.max_per_scan = 15;
    o.peaks.component_threshold = 0.01;
    o.peaks.blobs_per_scan = blobs;
    run_pipeline(o);
}

TEST(Infer, Heatmap3dBundleReproducesThePipelinesHeldOutCandidates) {
    test::TempDir dir;
    run_quick_pipeline(dir, Detector::Heatmap3d, Detector3dHead::Heatmap, 4);
    const auto w = [&](const std::string& p) { return dir.path("work/" + p); };
    const ModelBundle b = read_model_bundle(w("model"));
    EXPECT_EQ(b.detector, Detector::Heatmap3d);
    EXPECT_TRUE(b.unet.empty());
    EXPECT_EQ(b.peaks.max_per_scan, 15);
    EXPECT_EQ(b.peaks.blobs_per_scan, 4);  // and infer adds them (the candidates below)
    // The recipe's four mirrored passes travel in the card, and infer repeats them (the candidates below).
    EXPECT_EQ(b.detector3d_flips, 4);
    EXPECT_TRUE(fs::exists(w("model/detector3d.pt")));
    const InferSummary s = infer_scans(infer_options(dir, w("split/test"), dir.path("infer")));
    EXPECT_EQ(s.done, 2);
    EXPECT_GT(s.times.detector3d, 0);
    EXPECT_EQ(s.times.unet + s.times.candidates, 0);  // no U-Net in this bundle
    EXPECT_GT(s.candidates, 30);  // 15 peaks a scan and blobs no peak covers
    EXPECT_LE(s.candidates, 38);
    EXPECT_EQ(read_file(s.candidates_file), read_file(w("candidates.csv")));
    EXPECT_EQ(read_file(s.submission), read_file(w("submission.csv")));
}

TEST(Infer, SegmentationHeadBundleReproducesThePipelinesHeldOutCandidates) {
    test::TempDir dir;
    run_quick_pipeline(dir, Detector::Heatmap3d, Detector3dHead::Segmentation);
    const auto w = [&](const std::string& p) { return dir.path("work/" + p); };
    EXPECT_NE(read_file(w("detector3d/config.json")).find("\"head\": \"segmentation\""), std::string::npos);
    const ModelBundle b = read_model_bundle(w("model"));
    EXPECT_DOUBLE_EQ(b.peaks.component_threshold, 0.01);
    const InferSummary s = infer_scans(infer_options(dir, w("split/test"), dir.path("infer")));
    EXPECT_EQ(s.done, 2);
    EXPECT_GT(s.candidates, 0);
    EXPECT_LE(s.candidates, 30);
    EXPECT_EQ(read_file(s.candidates_file), read_file(w("candidates.csv")));
    EXPECT_EQ(read_file(s.submission), read_file(w("submission.csv")));
}

TEST(Infer, PooledBundleReproducesThePipelinesHeldOutCandidates) {
    test::TempDir dir;
    run_quick_pipeline(dir, Detector::Pooled);
    const auto w = [&](const std::string& p) { return dir.path("work/" + p); };
    // Both networks trained and bundled; the pool is each detector's candidates together.
    EXPECT_TRUE(fs::exists(w("unet/best.pt")));
    EXPECT_TRUE(fs::exists(w("detector3d/best.pt")));
    const ModelBundle b = read_model_bundle(w("model"));
    EXPECT_EQ(b.detector, Detector::Pooled);
    EXPECT_FALSE(b.unet.empty());
    EXPECT_FALSE(b.detector3d.empty());
    EXPECT_EQ(read_file(w("fpr/combine.txt")), "replace\n");  // two probability scales: the reduction's replaces them
    const std::size_t pooled = read_csv(w("candidates_unet.csv"), true).rows.size();
    EXPECT_GE(pooled, 30u);  // the 3D detector's 15 a scan, plus the U-Net's
    const InferSummary s = infer_scans(infer_options(dir, w("split/test"), dir.path("infer")));
    EXPECT_EQ(s.done, 2);
    EXPECT_GT(s.times.unet, 0);  // both detectors ran
    EXPECT_GT(s.times.detector3d, 0);
    EXPECT_GT(s.times.detector3d_network, 0);
    EXPECT_LE(s.times.detector3d_network, s.times.detector3d);
    EXPECT_EQ(static_cast<std::size_t>(s.candidates), pooled);
    EXPECT_EQ(read_file(s.candidates_file), read_file(w("candidates.csv")));
    EXPECT_EQ(read_file(s.submission), read_file(w("submission.csv")));
}

TEST(Infer, UnreadableScansAreNamedAndTheRestFinish) {
    test::TempDir dir;
    run_pipeline(test::quick_pipeline(dir, 6));
    // The held-out scans copied beside a scan that is no MetaImage and one whose voxels are missing.
    const std::string data = dir.path("new");
    fs::create_directories(data);
    for (const ScanFile& f : find_scans(dir.path("work/split/test"))) {
        const fs::path mhd = fs::canonical(f.path);
        fs::copy_file(mhd, fs::path(data) / mhd.filename());
        const fs::path raw = mhd.parent_path() / (f.uid + ".raw");
        if (fs::exists(raw)) fs::copy_file(raw, fs::path(data) / raw.filename());
        else fs::copy_file(mhd.parent_path() / (f.uid + ".zraw"), fs::path(data) / (f.uid + ".zraw"));
    }
    write_file_atomically(data + "/0.garbage.mhd", "this is not a header\n");
    write_file_atomically(data + "/1.voxels_missing.mhd",
                          "NDims = 3\nDimSize = 4 4 4\nElementType = MET_SHORT\nElementSpacing = 1 1 1\nElementDataFile = 1.voxels_missing.raw\n");

    const InferSummary s = infer_scans(infer_options(dir, data, dir.path("infer")));
    EXPECT_EQ(s.scans, 4);
    EXPECT_EQ(s.done, 2);
    ASSERT_EQ(s.failures.size(), 2u);
    EXPECT_EQ(s.failures[0].rfind(data + "/0.garbage.mhd", 0), 0u) << s.failures[0];
    EXPECT_EQ(s.failures[1].rfind(data + "/1.voxels_missing.mhd", 0), 0u) << s.failures[1];
    EXPECT_NE(s.failures[1].find("1.voxels_missing.raw"), std::string::npos) << s.failures[1];
    // The two good scans' candidates are the pipeline's.
    EXPECT_EQ(read_file(s.candidates_file), read_file(dir.path("work/candidates.csv")));

    // A broken network is the bundle's error, raised before any scan, not a failure of every scan.
    write_file_atomically(dir.path("work/model/unet.pt"), "not a checkpoint");
    try {
        infer_scans(infer_options(dir, data, dir.path("infer2")));
        ADD_FAILURE() << "a broken network was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("unet.pt"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(dir.path("infer2/candidates.csv")));
}

TEST(Infer, MissingBundleOrScansAreErrorsBeforeAnyWork) {
    test::TempDir dir;
    InferOptions o = infer_options(dir, dir.path("nothing"), dir.path("out"));
    EXPECT_THROW(infer_scans(o), Error);  // no bundle
    o.threads = 0;
    EXPECT_THROW(infer_scans(o), OptionError);
    EXPECT_FALSE(fs::exists(dir.path("out/candidates.csv")));
}

}  // namespace
}  // namespace nodulecad
