#include "nodulecad/detect/rle.hpp"

#include "nodulecad/core/error.hpp"
#include "nodulecad/io/text_numbers.hpp"

namespace nodulecad {

std::string rle_encode(const std::uint8_t* mask, int width, int height, int min_pixels) {
    std::int64_t on = 0;
    for (std::int64_t n = 0; n < static_cast<std::int64_t>(width) * height; ++n) on += mask[n] != 0;
    if (on < min_pixels || on == 0) return "";
    std::string out;
    std::int64_t start = 0, length = 0;
    const auto flush = [&] {
        if (length == 0) return;
        if (!out.empty()) out += ' ';
        out += std::to_string(start) + ' ' + std::to_string(length);
        length = 0;
    };
    for (int x = 0; x < width; ++x)
        for (int y = 0; y < height; ++y) {
            const std::int64_t number = static_cast<std::int64_t>(x) * height + y + 1;
            if (mask[static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x)]) {
                if (length == 0) start = number;
                ++length;
            } else {
                flush();
            }
        }
    flush();
    return out;
}

std::vector<std::uint8_t> rle_decode(const std::string& rle, int width, int height, const std::string& source) {
    std::vector<std::uint8_t> mask(static_cast<std::size_t>(width) * static_cast<std::size_t>(height), 0);
    const auto tokens = split_whitespace(rle);
    if (tokens.size() % 2 != 0) fail(source, "run-length string has an odd number of values (pairs of start and length expected)");
    const std::int64_t total = static_cast<std::int64_t>(width) * height;
    std::int64_t next_free = 1;
    for (std::size_t t = 0; t < tokens.size(); t += 2) {
        const auto start = parse_int(tokens[t]), length = parse_int(tokens[t + 1]);
        if (!start || !length) fail(source, "run-length value '" + std::string(!start ? tokens[t] : tokens[t + 1]) + "' is not a whole number");
        if (*start < next_free || *length < 1 || *start + *length - 1 > total)
            fail(source, "run " + std::to_string(*start) + " " + std::to_string(*length) + " is outside the " + std::to_string(width) + "x" +
                             std::to_string(height) + " image, empty, or overlaps/precedes the previous run");
        for (std::int64_t n = *start; n < *start + *length; ++n) {
            const std::int64_t x = (n - 1) / height, y = (n - 1) % height;
            mask[static_cast<std::size_t>(y * width + x)] = 1;
        }
        next_free = *start + *length;
    }
    return mask;
}

}  // namespace nodulecad
