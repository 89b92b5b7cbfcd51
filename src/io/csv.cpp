#include "nodulecad/io/csv.hpp"

#include "nodulecad/core/files.hpp"
#include "nodulecad/core/error.hpp"
#include "nodulecad/io/text_numbers.hpp"

namespace nodulecad {

namespace {

// A line longer than this is refused: a table's rows hold a few hundred bytes, so such a line means the file is not
// a table (and reading on would copy it, perhaps gigabytes, into one field).
constexpr std::size_t kMaxLineBytes = std::size_t{1} << 20;

[[noreturn]] void fail_long_line(const std::string& source, long line) {
    fail(source, "line longer than " + std::to_string(kMaxLineBytes >> 20) + " MiB: not a CSV table", line);
}

// The header for an error message: whole when short, else its start and its number of columns.
std::string shown_header(const std::vector<std::string>& header) {
    std::string have;
    for (const auto& h : header) have += (have.empty() ? "" : ",") + h;
    constexpr std::size_t kShown = 200;
    if (have.size() <= kShown) return have;
    return have.substr(0, kShown) + "... (" + std::to_string(header.size()) + " columns)";
}

}  // namespace

std::size_t CsvTable::column(std::string_view name) const {
    for (std::size_t i = 0; i < header.size(); ++i)
        if (header[i] == name) return i;
    fail(source, "missing column '" + std::string(name) + "' (header: " + shown_header(header) + ")", 1);
}

CsvTable parse_csv(std::string_view text, const std::string& source, bool has_header) {
    CsvTable table;
    table.source = source;
    if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);

    std::size_t i = 0;
    long line = 1;
    const std::size_t n = text.size();
    while (i < n) {
        CsvRow row;
        row.line = line;
        const std::size_t record_start = i;
        std::string field;
        bool any_content = false;
        for (;;) {
            // One field.
            field.clear();
            if (i < n && text[i] == '"') {
                const long quote_line = line;
                ++i;
                for (;;) {
                    if (i >= n) fail(source, "unterminated quoted field", quote_line, static_cast<long>(row.fields.size() + 1));
                    if (i - record_start > kMaxLineBytes) fail_long_line(source, row.line);
                    const char c = text[i++];
                    if (c == '"') {
                        if (i < n && text[i] == '"') {
                            field += '"';
                            ++i;
                        } else {
                            break;
                        }
                    } else {
                        if (c == '\n') ++line;
                        field += c;
                    }
                }
                // Text after the closing quote up to the separator is kept (lenient, like most readers).
                while (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') field += text[i++];
                any_content = true;
            } else {
                const std::size_t start = i;
                while (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') ++i;
                if (i - record_start > kMaxLineBytes) fail_long_line(source, row.line);
                field.assign(text.substr(start, i - start));
                if (!trim(field).empty()) any_content = true;
            }
            row.fields.push_back(std::string(trim(field)));
            if (i - record_start > kMaxLineBytes) fail_long_line(source, row.line);
            if (i < n && text[i] == ',') {
                ++i;
                any_content = true;
                continue;
            }
            // End of record: CRLF, LF, lone CR, or end of text.
            if (i < n && text[i] == '\r') ++i;
            if (i < n && text[i] == '\n') ++i;
            ++line;
            break;
        }
        if (!any_content) continue;  // blank line
        if (has_header && table.header.empty() && table.rows.empty())
            table.header = std::move(row.fields);
        else
            table.rows.push_back(std::move(row));
    }
    if (has_header && table.header.empty()) fail(source, "empty file: expected a header line");
    return table;
}

CsvTable read_csv(const std::string& path, bool has_header) { return parse_csv(read_file(path), path, has_header); }

std::string format_csv_row(const std::vector<std::string>& fields) {
    std::string out;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i) out += ',';
        const std::string& f = fields[i];
        if (f.find_first_of(",\"\r\n") == std::string::npos) {
            out += f;
        } else {
            out += '"';
            for (char c : f) {
                if (c == '"') out += '"';
                out += c;
            }
            out += '"';
        }
    }
    out += '\n';
    return out;
}

}  // namespace nodulecad
