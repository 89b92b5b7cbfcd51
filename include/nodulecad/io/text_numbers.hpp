#pragma once
// Strict text <-> number conversion shared by the header, CSV and npy parsers: a token either is a whole
// number or it is rejected (no silent "12abc" -> 12), and doubles are printed so they read back bit-exact.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nodulecad {

std::string_view trim(std::string_view s);
std::string to_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
// Text safe to echo in a one-line message: control and non-ASCII bytes shown as '?'.
std::string printable(std::string_view s);
// Splits on runs of spaces/tabs; no empty tokens.
std::vector<std::string_view> split_whitespace(std::string_view s);

// Whole-token parses (surrounding whitespace allowed, a leading '+' allowed). "nan"/"inf" parse as such:
// callers decide whether non-finite values are acceptable.
std::optional<double> parse_double(std::string_view s);
std::optional<std::int64_t> parse_int(std::string_view s);

// Where `s` stops being valid UTF-8 (the byte offset of the first bad sequence), or nothing when it is valid.
// Overlong forms, surrogates and code points above U+10FFFF are invalid, as in RFC 3629.
std::optional<std::size_t> utf8_error_offset(std::string_view s);

// Shortest text that parses back to exactly the same double.
std::string format_double(double v);

}  // namespace nodulecad
