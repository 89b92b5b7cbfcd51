#pragma once
// The LUNA16 / Tianchi tables, typed. Columns are found by header name (extra columns are ignored), so files
// with other column orders or additional fields load; errors name file, line and column.
//   annotations (and annotations_excluded): seriesuid,coordX,coordY,coordZ,diameter_mm  (world mm; -1 = unknown)
//   results / candidates:                   seriesuid,coordX,coordY,coordZ,probability
//   seriesuids:                             one uid a line, no header
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "nodulecad/core/geometry.hpp"

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

// LUNA16's hit rule, computed as the official evaluator does: a point hits a finding when its squared distance to the
// centre, (dx^2 + dy^2) + dz^2, is below the squared radius (d / 2)^2; a finding of unknown diameter (-1, as in
// annotations_excluded.csv) counts as 10 mm. The FROC, the FP-reduction labels and the report all use it.
bool luna16_hit(const Vec3& point, const Annotation& finding);

// Findings grouped by scan, and one scan's (empty for a scan without any).
using AnnotationsByUid = std::map<std::string, std::vector<Annotation>>;
AnnotationsByUid group_by_uid(const std::vector<Annotation>& rows);
const std::vector<Annotation>& annotations_of(const AnnotationsByUid& by_uid, const std::string& uid);

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
