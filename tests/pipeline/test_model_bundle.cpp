// The model bundle's card: written and read back whole; every bad bundle is a clear error naming the file.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/pipeline/model_bundle.hpp"
#include "nodulecad/version.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

namespace fs = std::filesystem;

// A bundle with stand-in network files (the card does not open them).
ModelBundle sample_bundle(const test::TempDir& dir, bool with_fpr) {
    write_file_atomically(dir.path("unet_src.pt"), "unet bytes");
    ModelBundle b;
    b.unet = dir.path("unet_src.pt");
    if (with_fpr) {
        write_file_atomically(dir.path("fpr_src.pt"), "fpr bytes");
        b.fpr = dir.path("fpr_src.pt");
        b.combine = FprCombine::Product;
    }
    b.lungs_only = false;
    b.lungs.closing_radius_mm = 9;
    b.detect.threshold = 0.25;
    b.detect.max_per_scan = 40;
    b.detect.blobs_per_scan = 7;
    b.blobs.sigmas_mm = {1.5, 3.0};
    b.blobs.min_response = 12;
    return b;
}

std::string error_of(const std::string& dir) {
    try {
        read_model_bundle(dir);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

void edit_card(const std::string& dir, const std::function<void(nlohmann::json&)>& edit) {
    const std::string card = dir + "/model.json";
    nlohmann::json j = nlohmann::json::parse(read_file(card));
    edit(j);
    write_file_atomically(card, j.dump());
}

TEST(ModelBundle, WrittenAndReadBackWhole) {
    test::TempDir dir;
    write_model_bundle(dir.path("model"), sample_bundle(dir, true));
    EXPECT_EQ(read_file(dir.path("model/unet.pt")), "unet bytes");
    EXPECT_EQ(read_file(dir.path("model/fpr.pt")), "fpr bytes");
    for (const std::string& where : {dir.path("model"), dir.path("model/model.json")}) {
        const ModelBundle b = read_model_bundle(where);
        EXPECT_EQ(b.detector, Detector::UNet2d);
        EXPECT_EQ(fs::path(b.unet), fs::path(dir.path("model/unet.pt")));
        EXPECT_EQ(fs::path(b.fpr), fs::path(dir.path("model/fpr.pt")));
        EXPECT_EQ(b.combine, FprCombine::Product);
        EXPECT_FALSE(b.lungs_only);
        EXPECT_DOUBLE_EQ(b.lungs.closing_radius_mm, 9);
        EXPECT_DOUBLE_EQ(b.detect.threshold, 0.25);
        EXPECT_EQ(b.detect.max_per_scan, 40);
        EXPECT_EQ(b.detect.blobs_per_scan, 7);
        EXPECT_EQ(b.blobs.max_per_scan, 7);  // the count comes from the detect rule
        EXPECT_EQ(b.blobs.sigmas_mm, (std::vector<double>{1.5, 3.0}));
        EXPECT_DOUBLE_EQ(b.blobs.min_response, 12);
        EXPECT_EQ(b.version, version());
        EXPECT_FALSE(b.detect.blobs_uncovered);  // absent from the card: the rule every earlier bundle ran
    }
    EXPECT_FALSE(nlohmann::json::parse(read_file(dir.path("model/model.json"))).at("detect").contains("blobs_uncovered"));
    ModelBundle uncovered = sample_bundle(dir, true);
    uncovered.detect.blobs_uncovered = true;
    write_model_bundle(dir.path("model"), uncovered);
    EXPECT_TRUE(read_model_bundle(dir.path("model")).detect.blobs_uncovered);
}

TEST(ModelBundle, CandidateScoreAsWrittenAndAsEarlierFormatsRanked) {
    test::TempDir dir;
    write_model_bundle(dir.path("model"), sample_bundle(dir, true));  // DetectOptions' default: peak-share
    EXPECT_EQ(nlohmann::json::parse(read_file(dir.path("model/model.json"))).at("detect").at("score"), "peak-share");
    EXPECT_EQ(read_model_bundle(dir.path("model")).detect.score, CandidateScore::PeakShare);
    // A format-5 card knows only "mean_probability": its bundles ranked by the peak (false) or the mean.
    edit_card(dir.path("model"), [](nlohmann::json& j) { j["format_version"] = 5, j["detect"].erase("score"); });
    EXPECT_EQ(read_model_bundle(dir.path("model")).detect.score, CandidateScore::Peak);
    edit_card(dir.path("model"), [](nlohmann::json& j) { j["detect"]["mean_probability"] = true; });
    EXPECT_EQ(read_model_bundle(dir.path("model")).detect.score, CandidateScore::Mean);
    edit_card(dir.path("model"), [](nlohmann::json& j) { j["detect"]["score"] = "loudest"; });
    const std::string e = error_of(dir.path("model"));
    EXPECT_NE(e.find("model.json: bad model bundle card: detect.score must be"), std::string::npos) << e;
    EXPECT_NE(e.find("got \"loudest\""), std::string::npos) << e;
}

TEST(ModelBundle, WithoutFalsePositiveReduction) {
    test::TempDir dir;
    write_model_bundle(dir.path("model"), sample_bundle(dir, true));
    write_model_bundle(dir.path("model"), sample_bundle(dir, false));  // rewritten without: the old fpr.pt goes
    EXPECT_FALSE(fs::exists(dir.path("model/fpr.pt")));
    EXPECT_TRUE(read_model_bundle(dir.path("model")).fpr.empty());
}

TEST(ModelBundle, Heatmap3dBundleNamesItsNetworkAndPeaks) {
    test::TempDir dir;
    write_model_bundle(dir.path("model"), sample_bundle(dir, true));
    write_file_atomically(dir.path("det_src.pt"), "3d bytes");
    ModelBundle b = sample_bundle(dir, true);
    b.detector = Detector::Heatmap3d;
    b.unet.clear();
    b.detector3d = dir.path("det_src.pt");
    b.peaks.threshold = 0.2;
    b.peaks.min_distance_mm = 6;
    b.peaks.max_per_scan = 30;
    write_model_bundle(dir.path("model"), b);
    EXPECT_FALSE(fs::exists(dir.path("model/unet.pt")));  // the other detector's network goes
    const ModelBundle r = read_model_bundle(dir.path("model"));
    EXPECT_EQ(r.detector, Detector::Heatmap3d);
    EXPECT_EQ(read_file(r.detector3d), "3d bytes");
    EXPECT_TRUE(r.unet.empty());
    EXPECT_DOUBLE_EQ(r.peaks.threshold, 0.2);
    EXPECT_DOUBLE_EQ(r.peaks.min_distance_mm, 6);
    EXPECT_EQ(r.peaks.max_per_scan, 30);
    EXPECT_EQ(r.peaks.blobs_per_scan, 0);
    EXPECT_FALSE(nlohmann::json::parse(read_file(dir.path("model/model.json"))).at("peaks").contains("blobs_per_scan"));  // as before format 4
    EXPECT_EQ(r.detector3d_flips, 1);
    b.peaks.blobs_per_scan = 7;
    write_model_bundle(dir.path("model"), b);
    EXPECT_EQ(nlohmann::json::parse(read_file(dir.path("model/model.json"))).at("format_version"), kModelBundleFormat);
    EXPECT_EQ(read_model_bundle(dir.path("model")).peaks.blobs_per_scan, 7);
    b.peaks.blobs_per_scan = 0;
    b.detector3d_flips = 4;
    write_model_bundle(dir.path("model"), b);
    EXPECT_EQ(read_model_bundle(dir.path("model")).detector3d_flips, 4);
    // A format-1 bundle (before test-time mirrors) reads as it was made: one pass.
    edit_card(dir.path("model"), [](nlohmann::json& j) { j["format_version"] = 1, j.erase("detector3d"); });
    EXPECT_EQ(read_model_bundle(dir.path("model")).detector3d_flips, 1);
    edit_card(dir.path("model"), [](nlohmann::json& j) { j["detector3d"] = {{"flips", 9}}; });
    EXPECT_NE(error_of(dir.path("model")).find("detector3d.flips must be between 1 and 8, got 9"), std::string::npos) << error_of(dir.path("model"));
    write_model_bundle(dir.path("model"), b);
    fs::remove(dir.path("model/detector3d.pt"));
    EXPECT_NE(error_of(dir.path("model")).find("detector3d network is missing"), std::string::npos) << error_of(dir.path("model"));
}

TEST(ModelBundle, PooledBundleHoldsBothDetectors) {
    test::TempDir dir;
    write_file_atomically(dir.path("det_src.pt"), "3d bytes");
    ModelBundle b = sample_bundle(dir, true);
    b.detector = Detector::Pooled;
    b.detector3d = dir.path("det_src.pt");
    b.peaks.max_per_scan = 25;
    b.detector3d_flips = 2;
    write_model_bundle(dir.path("model"), b);
    const ModelBundle r = read_model_bundle(dir.path("model"));
    EXPECT_EQ(r.detector, Detector::Pooled);
    EXPECT_EQ(read_file(r.unet), "unet bytes");
    EXPECT_EQ(read_file(r.detector3d), "3d bytes");
    EXPECT_EQ(r.peaks.max_per_scan, 25);
    EXPECT_EQ(r.detector3d_flips, 2);
    EXPECT_EQ(r.detect.blobs_per_scan, 7);
    EXPECT_NE(read_file(dir.path("model/model.json")).find("\"detector\": \"unet2d+heatmap3d\""), std::string::npos);
    // Either network missing is the bundle's error.
    fs::remove(dir.path("model/unet.pt"));
    EXPECT_NE(error_of(dir.path("model")).find("unet network is missing"), std::string::npos) << error_of(dir.path("model"));
    write_model_bundle(dir.path("model"), b);
    fs::remove(dir.path("model/detector3d.pt"));
    EXPECT_NE(error_of(dir.path("model")).find("detector3d network is missing"), std::string::npos) << error_of(dir.path("model"));
    // Rewritten as a U-Net bundle: the 3D network goes.
    b.detector = Detector::UNet2d;
    write_model_bundle(dir.path("model"), b);
    EXPECT_FALSE(fs::exists(dir.path("model/detector3d.pt")));
    EXPECT_TRUE(read_model_bundle(dir.path("model")).detector3d.empty());
}

TEST(ModelBundle, BadBundlesAreClearErrors) {
    test::TempDir dir;
    const std::string m = dir.path("model");
    EXPECT_NE(error_of(m).find("model bundle not found"), std::string::npos);
    fs::create_directories(m);
    EXPECT_NE(error_of(m).find("no card (model.json)"), std::string::npos);
    write_file_atomically(m + "/model.json", "{not json");
    EXPECT_NE(error_of(m).find("not a model bundle card"), std::string::npos);
    write_file_atomically(m + "/model.json", "{\"kind\": \"unet\"}");
    EXPECT_NE(error_of(m).find("not a nodulecad model bundle card"), std::string::npos);

    write_model_bundle(m, sample_bundle(dir, true));
    edit_card(m, [](nlohmann::json& j) { j["format_version"] = kModelBundleFormat + 1, j["nodulecad_version"] = "9.0.0"; });
    const std::string other = error_of(m);
    EXPECT_NE(other.find(m + "/model.json"), std::string::npos) << other;
    EXPECT_NE(other.find("bundle format " + std::to_string(kModelBundleFormat + 1) + " (written by nodulecad 9.0.0)"), std::string::npos) << other;
    EXPECT_NE(other.find("reads formats 1-" + std::to_string(kModelBundleFormat)), std::string::npos) << other;
    edit_card(m, [](nlohmann::json& j) { j["format_version"] = 0; });
    EXPECT_NE(error_of(m).find("bundle format 0"), std::string::npos) << error_of(m);

    write_model_bundle(m, sample_bundle(dir, true));
    fs::remove(m + "/fpr.pt");
    const std::string missing = error_of(m);
    EXPECT_NE(missing.find(m + "/fpr.pt"), std::string::npos) << missing;
    EXPECT_NE(missing.find("fpr network is missing"), std::string::npos) << missing;

    write_model_bundle(m, sample_bundle(dir, true));
    edit_card(m, [](nlohmann::json& j) { j["networks"]["unet"] = "../elsewhere.pt"; });
    EXPECT_NE(error_of(m).find("must be a file name in the bundle"), std::string::npos);

    write_model_bundle(m, sample_bundle(dir, true));
    edit_card(m, [](nlohmann::json& j) { j["detector"] = "retina3d"; });
    EXPECT_NE(error_of(m).find("detector must be unet2d, heatmap3d or unet2d+heatmap3d, got \"retina3d\""), std::string::npos) << error_of(m);
    write_model_bundle(m, sample_bundle(dir, true));
    edit_card(m, [](nlohmann::json& j) { j["fpr"]["combine"] = "max"; });
    EXPECT_NE(error_of(m).find("fpr.combine must be"), std::string::npos);
    write_model_bundle(m, sample_bundle(dir, true));
    edit_card(m, [](nlohmann::json& j) { j["blobs"]["sigmas_mm"] = nlohmann::json::array(); });
    EXPECT_NE(error_of(m).find("no scales given"), std::string::npos) << error_of(m);
    write_model_bundle(m, sample_bundle(dir, true));
    edit_card(m, [](nlohmann::json& j) { j.erase("detect"); });
    EXPECT_NE(error_of(m).find("bad model bundle card"), std::string::npos);
}

}  // namespace
}  // namespace nodulecad
