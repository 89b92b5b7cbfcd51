#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/files.hpp"
#include "io/csv.hpp"
#include "io/tables.hpp"
#include "report/evaluation_folder.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

TEST(EvaluationFolder, ScoresAndErrorTableCoverOnlyTheListedScans) {
    test::TempDir dir;
    write_annotations(dir.path("ann.csv"), {{"a", {0, 0, 0}, 8}, {"a", {50, 0, 0}, 6}, {"b", {0, 0, 0}, 10}});
    write_seriesuids(dir.path("uids.csv"), {"a"});
    write_results(dir.path("res.csv"), {{"a", {1, 0, 0}, 0.9}, {"a", {20, 20, 20}, 0.4}, {"b", {0, 0, 0}, 0.8}});
    EvaluationOptions o;
    o.annotations = dir.path("ann.csv");
    o.seriesuids = dir.path("uids.csv");
    o.results = dir.path("res.csv");
    o.out = dir.path("eval");
    o.bootstrap = 20;
    const EvaluationResult r = write_evaluation(o);
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
}

}  // namespace
}  // namespace nodulecad
