#include <gtest/gtest.h>

#include "nodulecad/core/error.hpp"
#include "nodulecad/io/csv.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

TEST(Csv, HeaderRowsAndLineNumbers) {
    const CsvTable t = parse_csv("a,b,c\n1,2,3\n\n4,5,6\n", "t.csv", true);
    EXPECT_EQ(t.header, (std::vector<std::string>{"a", "b", "c"}));
    ASSERT_EQ(t.rows.size(), 2u);
    EXPECT_EQ(t.rows[1].fields, (std::vector<std::string>{"4", "5", "6"}));
    EXPECT_EQ(t.rows[0].line, 2);
    EXPECT_EQ(t.rows[1].line, 4);  // blank line 3 skipped but counted
    EXPECT_EQ(t.column("c"), 2u);
    test::expect_error([&] { (void)t.column("d"); }, {"t.csv:1:", "missing column 'd'", "header: a,b,c"});
}

TEST(Csv, CrlfBomQuotesAndEmbeddedNewlines) {
    const CsvTable t = parse_csv("\xEF\xBB\xBFuid,note\r\n\"1.2,3\",\"say \"\"hi\"\"\"\r\n\"x\",\"two\nlines\"\r\nlast,\r\n",
                                 "q.csv", true);
    EXPECT_EQ(t.header[0], "uid");
    ASSERT_EQ(t.rows.size(), 3u);
    EXPECT_EQ(t.rows[0].fields[0], "1.2,3");
    EXPECT_EQ(t.rows[0].fields[1], "say \"hi\"");
    EXPECT_EQ(t.rows[1].fields[1], "two\nlines");
    EXPECT_EQ(t.rows[2].line, 5);
    EXPECT_EQ(t.rows[2].fields, (std::vector<std::string>{"last", ""}));
}

TEST(Csv, NoTrailingNewlineAndNoHeader) {
    const CsvTable t = parse_csv("x\ny", "n.csv", false);
    EXPECT_TRUE(t.header.empty());
    ASSERT_EQ(t.rows.size(), 2u);
    EXPECT_EQ(t.rows[1].fields[0], "y");
}

TEST(Csv, Errors) {
    test::expect_error([] { (void)parse_csv("a,b\n\"open,2\n", "u.csv", true); }, {"u.csv:2:1:", "unterminated quoted field"});
    test::expect_error([] { (void)parse_csv("", "e.csv", true); }, {"e.csv", "empty file"});
    test::expect_error([] { (void)parse_csv("\n\r\n", "e.csv", true); }, {"expected a header"});
}

TEST(Csv, ALineOverOneMebibyteIsNotATable) {
    // Whatever the line holds (one endless field, a quoted field, many fields), the parser stops within its first
    // MiB instead of copying it, and names the line.
    const std::string head = "seriesuid,coordX\n1.2,3\n";
    const std::string endless((std::size_t{1} << 20) + 10, '7');
    test::expect_error([&] { (void)parse_csv(head + endless, "big.csv", true); }, {"big.csv:3:", "longer than 1 MiB", "not a CSV table"});
    test::expect_error([&] { (void)parse_csv(head + "\"" + endless + "\"\n", "q.csv", true); }, {"q.csv:3:", "longer than 1 MiB"});
    std::string commas(std::size_t{1} << 20, ',');
    test::expect_error([&] { (void)parse_csv(head + commas + "x\n", "c.csv", true); }, {"c.csv:3:", "longer than 1 MiB"});
    // Just under the limit is a (strange) table.
    const std::string wide((std::size_t{1} << 20) - 16, '7');
    EXPECT_EQ(parse_csv(head + wide + "\n", "w.csv", true).rows.at(1).fields.at(0).size(), wide.size());
}

TEST(Csv, AMissingColumnErrorShowsOnlyTheStartOfAWideHeader) {
    std::string text = "seriesuid";
    for (int i = 0; i < 100000; ++i) text += ",c" + std::to_string(i);
    const CsvTable t = parse_csv(text + "\n", "wide.csv", true);
    ASSERT_EQ(t.header.size(), 100001u);
    EXPECT_EQ(t.column("c99999"), 100000u);
    try {
        (void)t.column("probability");
        FAIL() << "no error";
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("header: seriesuid,c0,c1,"), std::string::npos) << m;
        EXPECT_NE(m.find("... (100001 columns)"), std::string::npos) << m;
        EXPECT_LT(m.size(), 400u);
    }
}

TEST(Csv, FormatQuotesOnlyWhenNeededAndRoundTrips) {
    const std::vector<std::string> fields{"plain", "with,comma", "with \"quote\"", "multi\nline", ""};
    const std::string line = format_csv_row(fields);
    EXPECT_EQ(line, "plain,\"with,comma\",\"with \"\"quote\"\"\",\"multi\nline\",\n");
    const CsvTable t = parse_csv("h1,h2,h3,h4,h5\n" + line, "r.csv", true);
    ASSERT_EQ(t.rows.size(), 1u);
    EXPECT_EQ(t.rows[0].fields, fields);
}

}  // namespace
}  // namespace nodulecad
