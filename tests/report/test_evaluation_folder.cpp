#include <gtest/gtest.h>

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

}  // namespace
}  // namespace nodulecad
