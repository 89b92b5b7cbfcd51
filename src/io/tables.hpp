#pragma once
// The LUNA16 / Tianchi tables, typed. Columns are found by header name (extra columns are ignored), so files
// with other column orders or additional fields load; errors name file, line and column.
//   annotations (and annotations_excluded): seriesuid,coordX,coordY,coordZ,diameter_mm  (world mm; -1 = unknown)
//   results / candidates:                   seriesuid,coordX,coordY,coordZ,probability
//   seriesuids:                             one uid a line, no header
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/geometry.hpp"

namespace nodulecad {

struct Annotation {
    std::string seriesuid;
    Vec3 world{};        // mm
    double diameter_mm;  // -1 in annotations_excluded.csv means "unknown"
};

struct Candidate {
    std::string seriesuid;
    Vec3 world{};  // mm
    double probability;
    double diameter_mm = std::numeric_limits<double>::quiet_NaN();  // when the file has a diameter_mm column
};

std::vector<Annotation> parse_annotations(std::string_view text, const std::string& source);
std::vector<Candidate> parse_results(std::string_view text, const std::string& source);
// Tolerates a "seriesuid" header line; rejects blank uids and uids with commas.
std::vector<std::string> parse_seriesuids(std::string_view text, const std::string& source);

std::vector<Annotation> read_annotations(const std::string& path);
std::vector<Candidate> read_results(const std::string& path);
std::vector<std::string> read_seriesuids(const std::string& path);

// Atomic writers; numbers printed so they read back bit-exact.
void write_annotations(const std::string& path, const std::vector<Annotation>& rows);
void write_results(const std::string& path, const std::vector<Candidate>& rows);
// Candidates as detect writes them: the results columns, plus diameter_mm when `with_diameter`.
void write_candidates(const std::string& path, const std::vector<Candidate>& rows, bool with_diameter);
void write_seriesuids(const std::string& path, const std::vector<std::string>& uids);

}  // namespace nodulecad
