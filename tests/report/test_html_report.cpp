#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <cstdio>
#include <regex>

#include "nodulecad/core/files.hpp"
#include "nodulecad/evaluate/froc.hpp"
#include "nodulecad/io/cohort_layout.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/io/tables.hpp"
#include "nodulecad/report/froc_plot.hpp"
#include "nodulecad/report/html_report.hpp"
#include "nodulecad/synth/cohort.hpp"
#include "synth/cohort_fixture.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

TEST(HtmlReport, Base64) {
    EXPECT_EQ(base64(""), "");
    EXPECT_EQ(base64("f"), "Zg==");
    EXPECT_EQ(base64("fo"), "Zm8=");
    EXPECT_EQ(base64("foo"), "Zm9v");
    EXPECT_EQ(base64(std::string("\xff\x00\x10", 3)), "/wAQ");
}

TEST(HtmlReport, SelfContainedWithScoreCurvesAndGallery) {
    test::TempDir dir;
    write_cohort(test::small_cohort(dir.path("cohort"), 3, 12, 0.1, 2));
    const auto ann = read_annotations(dir.path("cohort/annotations.csv"));
    const auto uids = read_seriesuids(dir.path("cohort/seriesuids.csv"));
    ASSERT_FALSE(ann.empty());
    // Results: the first nodule found, one false positive per scan.
    std::vector<Candidate> res{{ann[0].seriesuid, ann[0].world, 0.9}};
    for (const auto& u : uids) res.push_back({u, {400, 400, 400}, 0.3});
    write_results(dir.path("results.csv"), res);
    const FrocResult r = evaluate_froc(ann, {}, uids, res);
    std::filesystem::create_directories(dir.path("eval"));
    nlohmann::json s = {{"cpm", r.cpm}, {"sensitivities", r.sensitivities}, {"cpm_ci", {0.1, 0.9}}, {"tp", r.detected}, {"fp", r.false_positives},
                        {"nodules", r.nodules}, {"scans", r.scans},
                        {"inputs", {{"annotations", dir.path("cohort/annotations.csv")}, {"results", dir.path("results.csv")}}}};
    write_file_atomically(dir.path("eval/summary.json"), s.dump());
    write_file_atomically(dir.path("eval/froc.svg"), froc_svg(r, nullptr, "FROC"));
    std::filesystem::create_directories(dir.path("run"));
    write_file_atomically(dir.path("run/metrics.csv"), "epoch,train_loss,train_dice,val_dice,samples_per_s,seconds\n1,-0.1,0.1,0.05,3,10\n2,-0.3,0.3,0.2,3,10\n");
    write_file_atomically(dir.path("run/config.json"), "{\"lr\": 1e-05, \"batch\": 2}");

    ReportInputs in;
    in.eval_dir = dir.path("eval");
    in.run_dir = dir.path("run");
    in.data_dir = dir.path("cohort");
    in.gallery_per_kind = 2;
    const std::string html = build_report(in);
    EXPECT_EQ(html.rfind("<!doctype html>", 0), 0u);
    char cpm[32];
    std::snprintf(cpm, sizeof cpm, "CPM %.3f", r.cpm);
    EXPECT_NE(html.find(cpm), std::string::npos) << cpm;
    EXPECT_NE(html.find("95% CI 0.100"), std::string::npos);
    EXPECT_NE(html.find("<h2>FROC</h2><svg"), std::string::npos);
    EXPECT_NE(html.find("validation Dice"), std::string::npos);   // training curves
    EXPECT_NE(html.find("<th>lr</th>"), std::string::npos);       // configuration
    EXPECT_NE(html.find("Reached: 2 epochs; best validation Dice 0.200 at epoch 2"), std::string::npos);
    // The legend stands right of the plot area (x 60-580), not on the curves.
    EXPECT_NE(html.find("<text x=\"626\" y=\"34\">train loss</text>"), std::string::npos);
    // Every finding has its zoomed view beside the whole slice.
    std::ptrdiff_t zooms = 0;
    for (std::size_t at = html.find("class=\"zoom\""); at != std::string::npos; at = html.find("class=\"zoom\"", at + 1)) ++zooms;
    EXPECT_GE(zooms, 3);
    std::ptrdiff_t images = 0;
    for (std::size_t at = html.find("src=\"data:image/png;base64,"); at != std::string::npos; at = html.find("src=\"data:image/png;base64,", at + 1)) ++images;
    EXPECT_GE(images, 3);  // a true positive, false positives, and misses if any
    // Nothing fetched from anywhere: the only URLs are SVG namespace names.
    const std::regex url("(src|href)=\"(https?:|//)");
    EXPECT_FALSE(std::regex_search(html, url));
    // Predictions over the gallery: a float map (predict --float) marks the same voxels as the uint8 map of the same
    // probabilities — the pictures are identical — and both differ from a report without predictions.
    std::filesystem::create_directories(dir.path("pred_f"));
    std::filesystem::create_directories(dir.path("pred_u"));
    for (const auto& f : find_scans(dir.path("cohort"))) {
        const Volume<std::int16_t> scan = read_volume<std::int16_t>(f.path);
        Volume<float> p(scan.geometry, 0.f);
        Volume<std::uint8_t> q(scan.geometry, 0);
        for (std::size_t n = 0; n < p.voxels.size(); ++n)
            if (scan.voxels[n] > -300) p.voxels[n] = 0.9f, q.voxels[n] = 230;
        write_metaimage(dir.path("pred_f/" + f.uid + "_prob.mhd"), p);
        write_metaimage(dir.path("pred_u/" + f.uid + "_prob.mhd"), q);
    }
    in.pred_dir = dir.path("pred_f");
    const std::string with_float = build_report(in);
    in.pred_dir = dir.path("pred_u");
    EXPECT_EQ(build_report(in), with_float);
    EXPECT_NE(with_float, html);
    test::expect_error([&] {
        ReportInputs bad;
        bad.eval_dir = dir.path("nowhere");
        (void)build_report(bad);
    }, {"nowhere", "summary.json"});
}

}  // namespace
}  // namespace nodulecad
