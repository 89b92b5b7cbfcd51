#pragma once
// Reading back a synthetic cohort's manifest.json (what write_cohort records of every finding) for what the
// evaluation wants of it: each annotated nodule's kind and where it sits.
#include <string>
#include <vector>

#include "nodulecad/core/geometry.hpp"
#include "nodulecad/io/tables.hpp"

namespace nodulecad {

struct ManifestNodule {
    std::string seriesuid;
    Vec3 world{};              // the annotated centre, as in annotations.csv
    double diameter_mm = 0;
    std::string kind;          // solid, part-solid, ground-glass
    bool juxtapleural = false, juxtavascular = false;
    // "juxtapleural", "juxtavascular" or "isolated" (a nodule placed on the pleura counts as juxtapleural).
    std::string location() const;
};

// The findings listed in annotations.csv (not the excluded ones), scan by scan. Error naming the file when it is
// not a nodulecad synth manifest.
std::vector<ManifestNodule> read_manifest_nodules(const std::string& path);

// DIR/manifest.json beside an annotations table when it exists, else "".
std::string manifest_beside(const std::string& annotations);

// For each annotation, the manifest nodule at its centre (same uid, within 1e-3 mm), or -1.
std::vector<long> match_manifest(const std::vector<Annotation>& annotations, const std::vector<ManifestNodule>& nodules);

}  // namespace nodulecad
