#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "nodulecad/core/files.hpp"
#include "nodulecad/io/csv.hpp"
#include "nodulecad/io/tables.hpp"
#include "nodulecad/report/evaluation_folder.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

// DIR/eval from DIR/ann.csv, DIR/uids.csv and the results file.
EvaluationResult evaluate_into(const test::TempDir& dir, const std::string& results, int bootstrap) {
    EvaluationOptions o;
    o.annotations = dir.path("ann.csv");
    o.seriesuids = dir.path("uids.csv");
    o.results = results;
    o.out = dir.path("eval");
    o.bootstrap = bootstrap;
    return write_evaluation(o);
}

TEST(EvaluationFolder, ScoresAndErrorTableCoverOnlyTheListedScans) {
    test::TempDir dir;
    write_annotations(dir.path("ann.csv"), {{"a", {0, 0, 0}, 8}, {"a", {50, 0, 0}, 6}, {"b", {0, 0, 0}, 10}});
    write_seriesuids(dir.path("uids.csv"), {"a"});
    write_results(dir.path("res.csv"), {{"a", {1, 0, 0}, 0.9}, {"a", {20, 20, 20}, 0.4}, {"b", {0, 0, 0}, 0.8}});
    const EvaluationResult r = evaluate_into(dir, dir.path("res.csv"), 20);
    EXPECT_EQ(r.froc.nodules, 2);
    EXPECT_EQ(r.froc.detected, 1);
    EXPECT_EQ(r.froc.false_positives, 1);
    const CsvTable errors = read_csv(dir.path("eval/errors.csv"), true);
    ASSERT_EQ(errors.rows.size(), 2u);  // scan b's nodule is not listed
    for (const auto& row : errors.rows) EXPECT_EQ(row.fields[0], "a");
    const auto j = nlohmann::json::parse(read_file(dir.path("eval/summary.json")));
    EXPECT_EQ(j.at("localisation").at("nodules").get<int>(), 2);
    EXPECT_EQ(j.at("localisation").at("matched").get<int>(), 1);
    EXPECT_DOUBLE_EQ(j.at("cpm").get<double>(), r.froc.cpm);
    // Scan a's two marks are within every budget: one of its two nodules hit, two marks a scan (b is not listed).
    ASSERT_EQ(j.at("nodules_within_marks").size(), 3u);
    for (std::size_t k = 0; k < 3; ++k) {
        const auto& y = j.at("nodules_within_marks")[k];
        EXPECT_EQ(y.at("marks_per_scan").get<int>(), kMarkBudgets[k]);
        EXPECT_EQ(y.at("nodules").get<int>(), 2);
        EXPECT_EQ(y.at("detected").get<int>(), 1);
        EXPECT_DOUBLE_EQ(y.at("mean_marks").get<double>(), 2.0);
    }
    ASSERT_EQ(r.within_budgets.size(), 3u);
    for (const char* f : {"froc.csv", "missed_nodules.csv", "froc.svg", "froc.png", "errors.svg", "errors.png"})
        EXPECT_GT(file_size(dir.path(std::string("eval/") + f)), 0u) << f;
    // These results have no diameters: the diameter panel says so instead of staying empty.
    EXPECT_NE(read_file(dir.path("eval/errors.svg")).find("no candidate diameters in the results"), std::string::npos);
}

TEST(EvaluationFolder, CandidateDiametersFillTheDiameterErrors) {
    test::TempDir dir;
    write_annotations(dir.path("ann.csv"), {{"a", {0, 0, 0}, 8}});
    write_seriesuids(dir.path("uids.csv"), {"a"});
    Candidate c{"a", {1, 0, 0}, 0.9};
    c.diameter_mm = 9.5;
    write_candidates(dir.path("cands.csv"), {c}, true);
    (void)evaluate_into(dir, dir.path("cands.csv"), 0);
    const auto d = nlohmann::json::parse(read_file(dir.path("eval/summary.json"))).at("localisation").at("diameter");
    EXPECT_EQ(d.at("count").get<int>(), 1);
    EXPECT_DOUBLE_EQ(d.at("mean").get<double>(), 1.5);
    EXPECT_EQ(read_file(dir.path("eval/errors.svg")).find("no candidate diameters"), std::string::npos);
}

// With a synth manifest the nodules are also grouped by kind and location; an annotation the manifest does not
// hold is counted, not guessed at.
TEST(EvaluationFolder, SubgroupsByDiameterKindAndLocation) {
    test::TempDir dir;
    write_annotations(dir.path("ann.csv"), {{"a", {0, 0, 0}, 5}, {"a", {50, 0, 0}, 12}, {"b", {0, 0, 0}, 5}, {"b", {60, 0, 0}, 7}});
    write_seriesuids(dir.path("uids.csv"), {"a", "b"});
    write_results(dir.path("res.csv"), {{"a", {0, 0, 0}, 0.9}, {"a", {100, 100, 100}, 0.8}, {"b", {0, 0, 0}, 0.7}});
    const auto finding = [](const char* kind, double x, double d, bool pleura, bool vessel) {
        return nlohmann::json{{"kind", kind}, {"list", "annotations"}, {"annotated_centre", {x, 0, 0}}, {"annotated_diameter", d},
                              {"juxtapleural", pleura}, {"juxtavascular", vessel}};
    };
    const nlohmann::json manifest = {
        {"generator", "nodulecad synth"},
        {"scan_list",
         {{{"uid", "a"}, {"findings", {finding("solid", 0, 5, true, false), finding("ground-glass", 50, 12, false, false)}}},
          {{"uid", "b"}, {"findings", {finding("solid", 0, 5, false, true), {{"kind", "non-nodule"}, {"list", "annotations_excluded"}}}}}}}};
    write_file_atomically(dir.path("manifest.json"), manifest.dump());
    EvaluationOptions o;
    o.annotations = dir.path("ann.csv");
    o.seriesuids = dir.path("uids.csv");
    o.results = dir.path("res.csv");
    o.out = dir.path("eval");
    o.bootstrap = 0;
    o.manifest = dir.path("manifest.json");
    const EvaluationResult r = write_evaluation(o);
    std::map<std::string, GroupSensitivity> by;
    for (const auto& g : r.subgroups) by[g.family + "/" + g.name] = g;
    ASSERT_EQ(by.size(), 8u) << "4-6, 6-10, 10-20 mm; solid, ground-glass; juxtapleural, juxtavascular, isolated";
    EXPECT_EQ(by.at("diameter/4-6 mm").nodules, 2);
    EXPECT_EQ(by.at("diameter/4-6 mm").detected, 2);
    EXPECT_EQ(by.at("diameter/6-10 mm").detected, 0);
    EXPECT_EQ(by.at("kind/solid").nodules, 2);
    EXPECT_EQ(by.at("kind/ground-glass").nodules, 1);
    EXPECT_DOUBLE_EQ(by.at("kind/ground-glass").sensitivity[2], 0.0);
    EXPECT_EQ(by.at("location/juxtapleural").nodules, 1);
    EXPECT_EQ(by.at("location/juxtavascular").nodules, 1);
    EXPECT_DOUBLE_EQ(by.at("location/juxtavascular").sensitivity[0], 1.0);  // at 0.7, after the one false positive: 0.5 a scan
    EXPECT_EQ(by.count("location/isolated"), 1u);  // the 12 mm ground-glass one
    const auto j = nlohmann::json::parse(read_file(dir.path("eval/summary.json")));
    EXPECT_EQ(j.at("manifest_unmatched").get<int>(), 1);  // b's 7 mm nodule is not in the manifest
    EXPECT_EQ(j.at("subgroups").size(), 8u);
    EXPECT_EQ(j.at("subgroups")[0].at("group"), "4-6 mm");
    const CsvTable t = read_csv(dir.path("eval/subgroups.csv"), true);
    EXPECT_EQ(t.header.front(), "family");
    EXPECT_EQ(t.rows.size(), 8u);
}

}  // namespace
}  // namespace nodulecad
