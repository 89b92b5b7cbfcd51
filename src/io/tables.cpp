#include "nodulecad/io/tables.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "nodulecad/core/files.hpp"
#include "nodulecad/core/error.hpp"
#include "nodulecad/io/csv.hpp"
#include "nodulecad/io/text_numbers.hpp"

namespace nodulecad {

bool luna16_hit(const Vec3& p, const Annotation& a) {
    const double dx = p[0] - a.world[0], dy = p[1] - a.world[1], dz = p[2] - a.world[2];
    const double d = a.diameter_mm < 0 ? 10.0 : a.diameter_mm;
    return std::pow(dx, 2.0) + std::pow(dy, 2.0) + std::pow(dz, 2.0) < std::pow(d / 2.0, 2.0);
}

AnnotationsByUid group_by_uid(const std::vector<Annotation>& rows) {
    AnnotationsByUid out;
    for (const auto& a : rows) out[a.seriesuid].push_back(a);
    return out;
}

const std::vector<Annotation>& annotations_of(const AnnotationsByUid& by_uid, const std::string& uid) {
    static const std::vector<Annotation> none;
    const auto it = by_uid.find(uid);
    return it == by_uid.end() ? none : it->second;
}

namespace {

void check_uid_text(const std::string& uid, const std::string& source, long line, long column) {
    if (const auto at = utf8_error_offset(uid)) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(static_cast<unsigned char>(uid[*at])));
        fail(source, "seriesuid is not UTF-8 text (byte " + std::string(hex) + " at offset " + std::to_string(*at) + ")",
             line, column);
    }
}

// Looks up named columns once, then reads typed fields with file:line:column errors.
class ColumnReader {
public:
    ColumnReader(const CsvTable& t, std::initializer_list<const char*> names) : table_(t) {
        for (const char* n : names) {
            index_.push_back(t.column(n));
            names_.push_back(n);
        }
    }

    const std::string& text(const CsvRow& row, std::size_t k) const {
        check_width(row, k);
        const std::string& v = row.fields[index_[k]];
        if (v.empty()) fail(table_.source, "column '" + names_[k] + "' is empty", row.line, col(k));
        return v;
    }

    // A seriesuid: names files and goes into JSON, so it must be text.
    const std::string& uid(const CsvRow& row, std::size_t k) const {
        const std::string& v = text(row, k);
        check_uid_text(v, table_.source, row.line, col(k));
        return v;
    }

    double number(const CsvRow& row, std::size_t k) const {
        const std::string& v = text(row, k);
        const auto d = parse_double(v);
        if (!d) fail(table_.source, "column '" + names_[k] + "': '" + v + "' is not a number", row.line, col(k));
        if (!std::isfinite(*d)) fail(table_.source, "column '" + names_[k] + "': '" + v + "' is not finite", row.line, col(k));
        return *d;
    }

private:
    const CsvTable& table_;
    std::vector<std::size_t> index_;
    std::vector<std::string> names_;

    long col(std::size_t k) const { return static_cast<long>(index_[k] + 1); }
    void check_width(const CsvRow& row, std::size_t k) const {
        if (index_[k] >= row.fields.size())
            fail(table_.source,
                 "row has " + std::to_string(row.fields.size()) + " fields, column '" + names_[k] + "' is field " +
                     std::to_string(index_[k] + 1) + " of the header",
                 row.line);
    }
};

}  // namespace

namespace {
// Both tables are "seriesuid, world point, one more number"; only the last column's name differs.
template <class Row>
std::vector<Row> parse_point_table(std::string_view text, const std::string& source, const char* value_column) {
    const CsvTable t = parse_csv(text, source, true);
    const ColumnReader c(t, {"seriesuid", "coordX", "coordY", "coordZ", value_column});
    std::vector<Row> out;
    out.reserve(t.rows.size());
    for (const auto& row : t.rows)
        out.push_back({c.uid(row, 0), {c.number(row, 1), c.number(row, 2), c.number(row, 3)}, c.number(row, 4)});
    return out;
}
}  // namespace

std::vector<Annotation> parse_annotations(std::string_view text, const std::string& source) {
    return parse_point_table<Annotation>(text, source, "diameter_mm");
}

std::vector<Candidate> parse_results(std::string_view text, const std::string& source) {
    std::vector<Candidate> out = parse_point_table<Candidate>(text, source, "probability");
    // Optional diameter (detect writes one): read it when the header has the column.
    const CsvTable t = parse_csv(text, source, true);
    if (std::find(t.header.begin(), t.header.end(), "diameter_mm") != t.header.end()) {
        const ColumnReader c(t, {"diameter_mm"});
        for (std::size_t r = 0; r < t.rows.size(); ++r) out[r].diameter_mm = c.number(t.rows[r], 0);
    }
    return out;
}

std::vector<std::string> parse_seriesuids(std::string_view text, const std::string& source) {
    const CsvTable t = parse_csv(text, source, false);
    std::vector<std::string> out;
    out.reserve(t.rows.size());
    for (const auto& row : t.rows) {
        if (row.fields.size() != 1 && !(row.fields.size() > 1 && row.fields[1].empty()))
            fail(source, "expected one seriesuid per line, found " + std::to_string(row.fields.size()) + " fields", row.line);
        const std::string& uid = row.fields[0];
        if (uid.empty()) fail(source, "empty seriesuid", row.line, 1);
        check_uid_text(uid, source, row.line, 1);
        if (out.empty() && row.line == t.rows.front().line && uid == "seriesuid") continue;  // tolerated header
        out.push_back(uid);
    }
    return out;
}

std::vector<Annotation> read_annotations(const std::string& path) { return parse_annotations(read_file(path), path); }
std::vector<Candidate> read_results(const std::string& path) { return parse_results(read_file(path), path); }
std::vector<std::string> read_seriesuids(const std::string& path) { return parse_seriesuids(read_file(path), path); }

void write_annotations(const std::string& path, const std::vector<Annotation>& rows) {
    std::string out = "seriesuid,coordX,coordY,coordZ,diameter_mm\n";
    for (const auto& a : rows)
        out += format_csv_row({a.seriesuid, format_double(a.world[0]), format_double(a.world[1]),
                               format_double(a.world[2]), format_double(a.diameter_mm)});
    write_file_atomically(path, out);
}

void write_results(const std::string& path, const std::vector<Candidate>& rows) { write_candidates(path, rows, false); }

void write_candidates(const std::string& path, const std::vector<Candidate>& rows, bool with_diameter) {
    std::string out = with_diameter ? "seriesuid,coordX,coordY,coordZ,probability,diameter_mm\n" : "seriesuid,coordX,coordY,coordZ,probability\n";
    for (const auto& c : rows) {
        std::vector<std::string> row{c.seriesuid, format_double(c.world[0]), format_double(c.world[1]), format_double(c.world[2]), format_double(c.probability)};
        if (with_diameter) row.push_back(format_double(c.diameter_mm));
        out += format_csv_row(row);
    }
    write_file_atomically(path, out);
}

void write_seriesuids(const std::string& path, const std::vector<std::string>& uids) {
    std::string out;
    for (const auto& u : uids) out += format_csv_row({u});
    write_file_atomically(path, out);
}

}  // namespace nodulecad
