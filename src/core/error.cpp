#include "nodulecad/core/error.hpp"

namespace nodulecad {

std::string located(const std::string& source, const std::string& message, long line, long column) {
    std::string out = source;
    if (line > 0) {
        out += ':' + std::to_string(line);
        if (column > 0) out += ':' + std::to_string(column);
    }
    out += ": ";
    out += message;
    return out;
}

void fail(const std::string& source, const std::string& message, long line, long column) {
    throw Error(located(source, message, line, column));
}

}  // namespace nodulecad
