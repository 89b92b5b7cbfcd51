#pragma once
// One exception type for every user-facing failure: its message is a single line that names the source
// (file, and line/column where known) and what is wrong. The CLI prints it and exits non-zero.
#include <sstream>
#include <stdexcept>
#include <string>

namespace nodulecad {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A bad option value, named as the library's option structs name it: what() is "<option> <problem>", e.g.
// "epochs must be > 0, got 0". The command line turns `option` into its flag (cli/main.cpp: epochs -> --epochs).
class OptionError : public Error {
public:
    OptionError(const std::string& option, const std::string& problem) : Error(option + " " + problem), option_(option), problem_(problem) {}
    const std::string& option() const { return option_; }
    const std::string& problem() const { return problem_; }

private:
    std::string option_, problem_;
};

// "source: message", "source:line: message" or "source:line:column: message" (line/column 1-based, 0 = unknown).
std::string located(const std::string& source, const std::string& message, long line = 0, long column = 0);

[[noreturn]] void fail(const std::string& source, const std::string& message, long line = 0, long column = 0);

// The checks option structs make before any work, each an OptionError naming the option and the value given.
template <class T> std::string shown(const T& v) {
    std::ostringstream s;
    s << v;
    return s.str();
}
template <class T> void require_positive(const char* option, T v) {
    if (!(v > 0)) throw OptionError(option, "must be > 0, got " + shown(v));
}
template <class T> void require_non_negative(const char* option, T v) {
    if (!(v >= 0)) throw OptionError(option, "must be >= 0, got " + shown(v));
}
// lo <= v <= hi.
template <class T> void require_between(const char* option, T v, T lo, T hi) {
    if (!(v >= lo && v <= hi)) throw OptionError(option, "must be between " + shown(lo) + " and " + shown(hi) + ", got " + shown(v));
}
// A share: 0 <= v < 1.
inline void require_fraction(const char* option, double v) {
    if (!(v >= 0 && v < 1)) throw OptionError(option, "must be in [0, 1), got " + shown(v));
}

}  // namespace nodulecad
