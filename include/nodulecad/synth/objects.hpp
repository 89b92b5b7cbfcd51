#pragma once
// The thin 3D structures and findings of a synthetic chest, generated from the anatomy with a seeded stream:
// tapered capsules (pulmonary vessel trees, ribs, trachea and main bronchi) and findings (nodules, which are
// annotated, and the small nodules / nodule-like non-nodules that go to annotations_excluded.csv).
#include <string>
#include <vector>

#include "nodulecad/synth/anatomy.hpp"

namespace nodulecad {

// A cone-capped tube from p0 (radius r0) to p1 (radius r1).
struct Capsule {
    Vec3 p0{}, p1{};
    double r0 = 1, r1 = 1;
};

// Signed distance from w to a tapered capsule (mm).
double capsule_distance(const Capsule& c, const Vec3& w);

struct VesselTree {
    std::vector<Capsule> segments;
};
// Branching vessel trees rooted at each hilum: radii from about 6 mm across, tapering below 2 * min_radius, every segment
// kept inside the lungs.
VesselTree grow_vessels(const Anatomy& a, Rng& rng, double min_radius = 0.4);

// 12 pairs of ribs along the inner chest wall, each a chain of capsules descending anteriorly.
std::vector<Capsule> make_ribs(const Anatomy& a, Rng& rng);

// Trachea (from above the apices down to the carina) and the two main bronchi into the hila (lumen radii).
std::vector<Capsule> make_airways(const Anatomy& a, Rng& rng);

enum class FindingKind { Solid, PartSolid, GroundGlass, SmallNodule, NonNodule };
const char* finding_kind_name(FindingKind k);

struct Finding {
    FindingKind kind = FindingKind::Solid;
    Vec3 centre{};             // world mm (the designed centre; annotations use the rendered centre of mass)
    double diameter = 8;       // designed equivalent diameter, mm
    Vec3 axes{1, 1, 1};        // ellipsoid semi-axis multipliers (product 1: volume kept)
    Mat3 rotation = identity3();
    double lobulation = 0;     // relative radius modulation amplitude (0 = smooth)
    double lobe_freq[3] = {0, 0, 0}, lobe_phase[3] = {0, 0, 0};
    double hu = 40;            // solid HU, or the ground-glass HU for part-solid and ground-glass nodules
    double core_hu = 40, core_fraction = 0;  // part-solid: solid core radius as a fraction of the radius
    bool juxtapleural = false, juxtavascular = false;
    // Mostly inside vessels (less than a third of its volume outside them, hidden_in_vessels): still drawn, but what
    // the scan shows there is a vessel, so it is listed as an excluded finding, not annotated.
    bool hidden = false;
    bool is_nodule() const { return kind == FindingKind::Solid || kind == FindingKind::PartSolid || kind == FindingKind::GroundGlass; }
    bool annotated() const { return is_nodule() && !hidden; }
    double bounding_radius() const;
};

// Signed distance (mm, approximate) from w to the finding's surface.
double finding_distance(const Finding& f, const Vec3& w);

// LUNA16-like diameter (mm): 3 + lognormal(1.329, 0.824) truncated to [3.25, 32.27], fitted to the 1,186 LUNA16
// annotations (mean 8.1 mm, median 6.8 mm; LUNA16: 8.3 and 6.4).
double draw_nodule_diameter(Rng& rng);

// Whether a nodule of `diameter` centred at c touches a vessel of the tree: a segment at least 1.6 mm across
// (the ones juxtavascular placement attaches to) within half a millimetre of the nodule's surface.
bool touches_vessel(const VesselTree& v, const Vec3& c, double diameter);

// The share of the finding's volume (finding_distance < 0, sampled on a lattice) outside every vessel segment.
double exposed_fraction(const VesselTree& v, const Finding& f);
// A nodule is hidden when less than this share of it lies outside the vessels: a solid one is then drawn almost
// entirely inside a vessel of the same density and shows as a vessel (a reader would not annotate it); the
// threshold was set by looking at such nodules in rendered scans (docs/synth.md).
inline constexpr double kMinExposedFraction = 1.0 / 3.0;

// Places 0-6 annotated nodules (about a quarter of scans none; at least a fifth juxtapleural, some touching
// vessels) and 0-4 excluded findings, none overlapping. A nodule is labelled juxtavascular when it touches a
// vessel (touches_vessel), wherever it was placed: a nodule drawn at a free interior point may land on one, or
// inside one (then it is `hidden`, an excluded finding).
std::vector<Finding> place_findings(const Anatomy& a, const VesselTree& vessels, Rng& rng);

}  // namespace nodulecad
