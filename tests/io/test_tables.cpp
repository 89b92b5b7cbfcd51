#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "nodulecad/io/tables.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

const std::string kLuna = NODULECAD_LUNA16_DIR;

bool have_luna16() { return std::filesystem::exists(kLuna + "/annotations.csv"); }

TEST(Tables, RealLuna16Annotations) {
    if (!have_luna16()) GTEST_SKIP() << "no LUNA16 tables at " << NODULECAD_LUNA16_DIR << " (CMake: -DNODULECAD_LUNA16_DATA=...)";
    const auto ann = read_annotations(kLuna + "/annotations.csv");
    ASSERT_EQ(ann.size(), 1186u);
    EXPECT_EQ(ann[0].seriesuid, "1.3.6.1.4.1.14519.5.2.1.6279.6001.100225287222365663678666836860");
    EXPECT_DOUBLE_EQ(ann[0].world[0], -128.6994211);
    EXPECT_DOUBLE_EQ(ann[0].world[1], -175.3192718);
    EXPECT_DOUBLE_EQ(ann[0].world[2], -298.3875064);
    EXPECT_DOUBLE_EQ(ann[0].diameter_mm, 5.651470635);
    double lo = 1e9, hi = 0, sum = 0;
    std::set<std::string> scans;
    for (const auto& a : ann) {
        lo = std::min(lo, a.diameter_mm);
        hi = std::max(hi, a.diameter_mm);
        sum += a.diameter_mm;
        scans.insert(a.seriesuid);
    }
    EXPECT_EQ(scans.size(), 601u);  // LUNA16: 1,186 nodules in 601 scans
    EXPECT_NEAR(lo, 3.25, 0.01);
    EXPECT_NEAR(hi, 32.27, 0.01);
    EXPECT_NEAR(sum / static_cast<double>(ann.size()), 8.3, 0.1);
}

TEST(Tables, RealLuna16ExcludedAndSeriesuids) {
    if (!have_luna16()) GTEST_SKIP() << "no LUNA16 tables at " << NODULECAD_LUNA16_DIR << " (CMake: -DNODULECAD_LUNA16_DATA=...)";
    const auto ex = read_annotations(kLuna + "/annotations_excluded.csv");
    ASSERT_EQ(ex.size(), 35192u);
    std::size_t unknown = 0;
    for (const auto& e : ex) unknown += e.diameter_mm == -1 ? 1 : 0;
    EXPECT_EQ(unknown, 30513u);
    const auto uids = read_seriesuids(kLuna + "/seriesuids.csv");
    ASSERT_EQ(uids.size(), 888u);
    EXPECT_EQ(uids[0], "1.3.6.1.4.1.14519.5.2.1.6279.6001.100225287222365663678666836860");
    EXPECT_EQ(std::set<std::string>(uids.begin(), uids.end()).size(), 888u);
}

TEST(Tables, ColumnsFoundByNameExtraColumnsIgnored) {
    const auto r = parse_results(
        "probability,extra,coordZ,seriesuid,coordY,coordX\r\n0.75,foo,-3,\"u1\",-2,-1\r\n1e-3,bar,30,u2,20,10\r\n", "r.csv");
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].seriesuid, "u1");
    EXPECT_EQ(r[0].world, (Vec3{-1, -2, -3}));
    EXPECT_DOUBLE_EQ(r[0].probability, 0.75);
    EXPECT_DOUBLE_EQ(r[1].probability, 1e-3);
}

TEST(Tables, ErrorsNameFileLineAndColumn) {
    const std::string h = "seriesuid,coordX,coordY,coordZ,diameter_mm\n";
    test::expect_error([&] { (void)parse_annotations(h + "a,1,2,3,4\nb,1,two,3,4\n", "ann.csv"); },
                       {"ann.csv:3:3:", "column 'coordY'", "'two' is not a number"});
    test::expect_error([&] { (void)parse_annotations(h + "a,1,2\n", "ann.csv"); }, {"ann.csv:2:", "row has 3 fields"});
    test::expect_error([&] { (void)parse_annotations(h + ",1,2,3,4\n", "ann.csv"); }, {"ann.csv:2:1:", "'seriesuid' is empty"});
    test::expect_error([&] { (void)parse_annotations(h + "a,1,2,inf,4\n", "ann.csv"); }, {"ann.csv:2:4:", "not finite"});
    test::expect_error([&] { (void)parse_annotations("seriesuid,x,y,z,d\n", "ann.csv"); }, {"ann.csv:1:", "missing column 'coordX'"});
    test::expect_error([&] { (void)parse_results("seriesuid,coordX,coordY,coordZ\nu,1,2,3\n", "res.csv"); },
                       {"res.csv:1:", "missing column 'probability'"});
    test::expect_error([&] { (void)parse_seriesuids("u1\nu2,u3\n", "s.csv"); }, {"s.csv:2:", "one seriesuid per line"});
}

TEST(Tables, ASeriesuidMustBeUtf8Text) {
    const std::string h = "seriesuid,coordX,coordY,coordZ,diameter_mm\n";
    test::expect_error([&] { (void)parse_annotations(h + "1.2.3,1,2,3,4\n1.2.\xff\xfe" "3,1,2,3,4\n", "ann.csv"); },
                       {"ann.csv:3:1:", "seriesuid is not UTF-8 text (byte 0xFF at offset 4)"});
    test::expect_error([&] { (void)parse_results("seriesuid,coordX,coordY,coordZ,probability\n\xc3(,1,2,3,0.5\n", "res.csv"); },
                       {"res.csv:2:1:", "byte 0xC3 at offset 0"});
    test::expect_error([&] { (void)parse_seriesuids("1.2\n1.3\xed\xa0\x80\n", "s.csv"); }, {"s.csv:2:1:", "byte 0xED at offset 3"});
    // Text beyond ASCII is fine.
    EXPECT_EQ(parse_seriesuids("caf\xc3\xa9-\xf0\x9f\xab\x81\n", "s.csv").at(0), "caf\xc3\xa9-\xf0\x9f\xab\x81");
}

TEST(Tables, SeriesuidsToleratesHeaderAndTrailingComma) {
    EXPECT_EQ(parse_seriesuids("seriesuid\nu1\r\nu2,\n\n", "s.csv"), (std::vector<std::string>{"u1", "u2"}));
}

TEST(Tables, WritersRoundTripExactly) {
    test::TempDir dir;
    const std::vector<Annotation> ann{{"1.2.840.1", {-128.6994211, -175.3192718, -298.3875064}, 5.651470635},
                                      {"uid,with,commas", {0.1, 0.2, 0.30000000000000004}, -1}};
    write_annotations(dir.path("a.csv"), ann);
    const auto back = read_annotations(dir.path("a.csv"));
    ASSERT_EQ(back.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(back[i].seriesuid, ann[i].seriesuid);
        EXPECT_EQ(back[i].world, ann[i].world);
        EXPECT_EQ(back[i].diameter_mm, ann[i].diameter_mm);
    }
    const std::vector<Candidate> res{{"u", {1.5, -2.25, 3}, 0.123456789012345}};
    write_results(dir.path("r.csv"), res);
    EXPECT_EQ(test::read_text(dir.path("r.csv")), "seriesuid,coordX,coordY,coordZ,probability\nu,1.5,-2.25,3,0.123456789012345\n");
    write_seriesuids(dir.path("s.csv"), {"a", "b"});
    EXPECT_EQ(read_seriesuids(dir.path("s.csv")), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace nodulecad
