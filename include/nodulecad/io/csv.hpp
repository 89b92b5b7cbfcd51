#pragma once
// Generic CSV: a pure parser over bytes (RFC 4180 quoting, CRLF or LF, UTF-8 BOM, blank lines skipped) and a
// writer that quotes only where needed. Every row remembers its line so errors can name file:line:column.
#include <string>
#include <string_view>
#include <vector>

namespace nodulecad {

struct CsvRow {
    long line = 0;  // 1-based line where the row starts
    std::vector<std::string> fields;
};

struct CsvTable {
    std::string source;               // file name used in errors
    std::vector<std::string> header;  // empty when parsed without a header
    std::vector<CsvRow> rows;

    // Index of the column named `name` (exact, after trimming spaces); throws "source:1: missing column ..."
    std::size_t column(std::string_view name) const;
};

CsvTable parse_csv(std::string_view text, const std::string& source, bool has_header);
CsvTable read_csv(const std::string& path, bool has_header);

// One CSV line (with trailing '\n'); fields containing , " CR or LF are quoted.
std::string format_csv_row(const std::vector<std::string>& fields);

}  // namespace nodulecad
