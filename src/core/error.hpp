#pragma once
// One exception type for every user-facing failure: its message is a single line that names the source
// (file, and line/column where known) and what is wrong. The CLI prints it and exits non-zero.
#include <stdexcept>
#include <string>

namespace nodulecad {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// "source: message", "source:line: message" or "source:line:column: message" (line/column 1-based, 0 = unknown).
std::string located(const std::string& source, const std::string& message, long line = 0, long column = 0);

[[noreturn]] void fail(const std::string& source, const std::string& message, long line = 0, long column = 0);

}  // namespace nodulecad
