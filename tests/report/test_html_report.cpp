#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <cstdio>
#include <regex>

#include "core/files.hpp"
#include "evaluate/froc.hpp"
#include "io/tables.hpp"
#include "report/froc_plot.hpp"
#include "report/html_report.hpp"
#include "synth/cohort.hpp"
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
    write_file_atomically(dir.path("run/metrics.csv"), "epoch,train_loss,train_dice,val_dice,images_per_s,seconds\n1,-0.1,0.1,0.05,3,10\n2,-0.3,0.3,0.2,3,10\n");
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
    std::ptrdiff_t images = 0;
    for (std::size_t at = html.find("src=\"data:image/png;base64,"); at != std::string::npos; at = html.find("src=\"data:image/png;base64,", at + 1)) ++images;
    EXPECT_GE(images, 3);  // a true positive, false positives, and misses if any
    // Nothing fetched from anywhere: the only URLs are SVG namespace names.
    const std::regex url("(src|href)=\"(https?:|//)");
    EXPECT_FALSE(std::regex_search(html, url));
    test::expect_error([&] {
        ReportInputs bad;
        bad.eval_dir = dir.path("nowhere");
        (void)build_report(bad);
    }, {"nowhere", "summary.json"});
}

}  // namespace
}  // namespace nodulecad
