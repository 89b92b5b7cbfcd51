// A candidates table made by shards: each shard's parts, and the table once every scan has its part — the bytes one
// process writes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "nodulecad/io/candidate_parts.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

namespace fs = std::filesystem;

std::vector<Candidate> rows() {
    // Scan b has no candidates; values that print with many digits, a NaN-free diameter column.
    return {{"a", {-1.0 / 3, 2e-7, 123.456789012345}, 0.9, 5.5},
            {"a", {0.1, 0.2, 0.3}, 1.0 / 7, 3.25},
            {"c", {-100.5, 1e10, -2.5e-3}, 0.5, 12.0 / 7}};
}

std::vector<Candidate> of(const std::vector<Candidate>& all, const std::vector<std::string>& uids) {
    std::vector<Candidate> out;
    for (const Candidate& c : all)
        if (std::find(uids.begin(), uids.end(), c.seriesuid) != uids.end()) out.push_back(c);
    return out;
}

TEST(CandidateParts, TheShardCompletingTheSetWritesOneProcesssTable) {
    test::TempDir dir;
    const std::vector<std::string> all{"a", "b", "c"};
    for (const bool diameters : {true, false}) {
        SCOPED_TRACE(diameters ? "with diameters" : "without");
        const std::string one = dir.path(diameters ? "one_d.csv" : "one.csv"), out = dir.path(diameters ? "sharded_d.csv" : "sharded.csv");
        write_candidates(one, rows(), diameters);
        // Shards 1/2 (scan b) and 0/2 (a and c), in that order: the second completes the set.
        EXPECT_FALSE(write_candidate_parts(out, "key", all, {"b"}, of(rows(), {"b"}), diameters));
        EXPECT_FALSE(fs::exists(out));
        EXPECT_TRUE(write_candidate_parts(out, "key", all, {"a", "c"}, of(rows(), {"a", "c"}), diameters));
        EXPECT_EQ(test::read_text(out), test::read_text(one));
        // Each scan's part is there, b's with its header alone.
        const std::string parts = candidate_parts_dir(out, "key");
        EXPECT_EQ(parts.rfind(out + ".parts/", 0), 0u);
        EXPECT_EQ(test::read_text(parts + "/b.csv"), diameters ? "seriesuid,coordX,coordY,coordZ,probability,diameter_mm\n"
                                                                : "seriesuid,coordX,coordY,coordZ,probability\n");
    }
}

TEST(CandidateParts, PartsOfAnotherKeyNeverMix) {
    test::TempDir dir;
    const std::string out = dir.path("c.csv");
    const std::vector<std::string> all{"a", "b", "c"};
    EXPECT_NE(candidate_parts_dir(out, "options 1"), candidate_parts_dir(out, "options 2"));
    // An earlier job with other options left a and b's parts; this job's shard with c alone does not complete it.
    EXPECT_FALSE(write_candidate_parts(out, "options 1", all, {"a", "b"}, of(rows(), {"a", "b"}), true));
    EXPECT_FALSE(write_candidate_parts(out, "options 2", all, {"c"}, of(rows(), {"c"}), true));
    EXPECT_FALSE(fs::exists(out));
}

TEST(CandidateParts, RefusesRowsOutsideTheShardAndUidsThatAreNotFileNames) {
    test::TempDir dir;
    const std::string out = dir.path("c.csv");
    test::expect_error([&] { write_candidate_parts(out, "k", {"a", "c"}, {"a"}, rows(), true); }, {"scan c", "not in this shard"});
    test::expect_error([&] { write_candidate_parts(out, "k", {"../x"}, {"../x"}, {}, true); }, {"seriesuid '../x'", "cannot name a file"});
}

}  // namespace
}  // namespace nodulecad
