#include <gtest/gtest.h>

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
