#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "nodulecad/io/text_numbers.hpp"

namespace nodulecad {
namespace {

TEST(TextNumbers, WholeTokensOnly) {
    EXPECT_EQ(parse_double(" -172.899994 "), -172.899994);
    EXPECT_EQ(parse_double("+2.5"), 2.5);
    EXPECT_EQ(parse_double("1e-3"), 1e-3);
    EXPECT_FALSE(parse_double("12abc"));
    EXPECT_FALSE(parse_double(""));
    EXPECT_FALSE(parse_double("+-1"));
    EXPECT_FALSE(parse_double("1,5"));
    EXPECT_TRUE(std::isnan(*parse_double("nan")));
    EXPECT_EQ(parse_int("512"), 512);
    EXPECT_FALSE(parse_int("512.0"));
    EXPECT_FALSE(parse_int("99999999999999999999"));
}

TEST(TextNumbers, FormatRoundTripsBitExact) {
    std::mt19937_64 rng(3);
    std::uniform_real_distribution<double> u(-1e4, 1e4);
    for (int i = 0; i < 10000; ++i) {
        const double v = u(rng);
        EXPECT_EQ(*parse_double(format_double(v)), v);
    }
    EXPECT_EQ(format_double(0.703125), "0.703125");
    EXPECT_EQ(format_double(-1), "-1");
}

TEST(TextNumbers, Utf8ValidityAsRfc3629) {
    EXPECT_FALSE(utf8_error_offset(""));
    EXPECT_FALSE(utf8_error_offset("1.3.6.1.4"));
    EXPECT_FALSE(utf8_error_offset("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"));  // e-acute, euro, emoji, U+10FFFF
    EXPECT_EQ(utf8_error_offset("ab\xff"), 2u);
    EXPECT_EQ(utf8_error_offset("a\xc0\xaf"), 1u);          // overlong '/'
    EXPECT_EQ(utf8_error_offset("\xe0\x80\xaf"), 0u);       // overlong, three bytes
    EXPECT_EQ(utf8_error_offset("x\xed\xa0\x80"), 1u);      // a UTF-16 surrogate
    EXPECT_EQ(utf8_error_offset("\xf4\x90\x80\x80"), 0u);  // above U+10FFFF
    EXPECT_EQ(utf8_error_offset("ok\xe2\x82"), 2u);         // cut short
    EXPECT_EQ(utf8_error_offset("\xc3("), 0u);               // bad continuation
    EXPECT_EQ(utf8_error_offset("\x80"), 0u);                // lone continuation
}

TEST(TextNumbers, SplitTrimCase) {
    const auto t = split_whitespace("  1\t2   3 ");
    ASSERT_EQ(t.size(), 3u);
    EXPECT_EQ(t[2], "3");
    EXPECT_EQ(trim(" \r\nabc \t"), "abc");
    EXPECT_TRUE(iequals("ElementDataFile", "elementdatafile"));
    EXPECT_FALSE(iequals("abc", "abcd"));
}

TEST(TextNumbers, PrintableShowsControlAndNonAsciiBytesAsQuestionMarks) {
    EXPECT_EQ(printable("MONOCHROME2"), "MONOCHROME2");
    EXPECT_EQ(printable(std::string("a\0b\x1f\x7f\xc3\xa9 ~", 9)), "a?b???? ~");
}

}  // namespace
}  // namespace nodulecad
