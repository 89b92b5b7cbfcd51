#pragma once
// The false-positive-reduction data: labels for candidates and the patches the FPR network sees. No torch here.
//
// Each candidate gets a cube of side D = patch + 2 * max_shift + 1 voxels, `patch_mm` apart along the *world* axes
// (x, y, z), centred on the candidate, trilinear from the scan, HU window mapped to 0..255 — so a patch looks the
// same whatever the scan's direction matrix and spacing. The 2.5d network sees views cut from the cube: the axial,
// coronal and sagittal planes through the centre, each with the planes `slab` voxels either side as 3 channels
// (9 channels of patch x patch); the 3d network sees the cube's central patch^3. Augmentation moves the cut, not the
// scan: flips of each axis, 90-degree rotations about z, shifts of up to max_shift voxels — exact integer maps, so
// there is no interpolation at training time.
#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "nodulecad/core/enum_names.hpp"
#include "nodulecad/core/random.hpp"
#include "nodulecad/core/volume.hpp"
#include "nodulecad/io/tables.hpp"

namespace nodulecad {

// How candidates are cut; an FPR model remembers it in its card.
struct PatchOptions {
    int patch = 32;          // view side in voxels
    double patch_mm = 1.0;   // voxel size of the cube (isotropic)
    int slab = 2;            // channel planes at -slab, 0, +slab voxels
    int max_shift = 3;       // largest augmentation shift (voxels), also the cube margin
    double window_lo = -1000, window_hi = 400;

    int cube() const { return patch + 2 * max_shift + 1; }
    int channels() const { return 9; }
    void check() const;  // OptionError for values the views cannot be cut with
    bool operator==(const PatchOptions& o) const {
        return patch == o.patch && patch_mm == o.patch_mm && slab == o.slab && max_shift == o.max_shift && window_lo == o.window_lo &&
               window_hi == o.window_hi;
    }
    bool operator!=(const PatchOptions& o) const { return !(*this == o); }
};
// {"patch", "patch_mm", "slab", "max_shift", "window": [lo, hi]}; from_json keeps the current value of a missing key.
void to_json(nlohmann::json& j, const PatchOptions& o);
void from_json(const nlohmann::json& j, PatchOptions& o);

// Cube centred on `world`: D^3 bytes, index (a, b, c) -> world + ((a, b, c) - (D-1)/2) * patch_mm along x, y, z,
// with x and y turned by `angle_deg` about the world z axis (counter-clockwise from x towards y; 0: the world axes).
// Outside the scan counts as air (window_lo).
void extract_cube(const Volume<std::int16_t>& scan, const Vec3& world, const PatchOptions& o, std::uint8_t* cube, double angle_deg = 0);

struct Augment {
    std::array<bool, 3> flip{};     // mirror x, y, z
    int rotate = 0;                 // quarter turns about z
    std::array<int, 3> shift{};     // voxels
};
Augment draw_augment(Rng& rng, int max_shift);
// Intensity augmentation of one training input (values of the window mapped to [0, 1]): every value v becomes
// v * gain + offset, gain drawn in [1 - amount, 1 + amount], offset in [-amount / 4, amount / 4] (two draws from
// rng; none, and the values untouched, when amount is 0). At amount 0.2: +-20 % contrast, +-70 HU of a
// [-1000, 400] window.
void augment_intensity(float* values, std::size_t n, double amount, Rng& rng);

// The maps averaged at test time: s = 0..15 turns the cube s % 4 quarter turns about z, mirrors x for s % 8 >= 4
// and z for s >= 8 — the axial square's 8 turns and mirrors, then the same upside down. Training draws every one
// of them (draw_augment), so the mean asks the network for what it learned to answer alike. Identity first.
constexpr int kCubeSymmetries = 16;
Augment cube_symmetry(int s);

// The 9 views of a cube as floats in [0, 1]: out[(view * 3 + plane) * P * P + v * P + u], views axial (u = x,
// v = y), coronal (u = x, v = z), sagittal (u = y, v = z); planes at -slab, 0, +slab along the view's normal.
void cube_views(const std::uint8_t* cube, const PatchOptions& o, const Augment& aug, float* out);

// The cube itself as patch^3 floats in [0, 1], out[(z * P + y) * P + x] (world axes, offsets -P/2 .. P/2 - 1 from
// the centre, like the views), under the same augmentation maps: what the 3d network sees.
void cube_crop(const std::uint8_t* cube, const PatchOptions& o, const Augment& aug, float* out);

// LUNA16's rule (luna16_hit): positive within a nodule's radius; otherwise left out (Ignored) within an excluded
// finding's radius; otherwise negative.
enum class FprLabel : int { Ignored = -1, Negative = 0, Positive = 1 };
FprLabel label_candidate(const Vec3& world, const std::vector<Annotation>& nodules, const std::vector<Annotation>& excluded);

// Where a row of the FPR set comes from.
enum class FprSource : int {
    Candidate,   // a detector candidate, labelled by LUNA16's rule
    Annotation,  // an annotated nodule centre added as a positive (training split only)
    View,        // an extra view of an annotated nodule: centre moved and cube turned about z (training split only)
};

// One row of the FPR set (FPR/patches.csv); row n is cube n of FPR/patches.npy (N, D, D, D) uint8.
struct FprRow {
    std::string seriesuid;
    Vec3 world{};
    int label = 0;              // 0 or 1
    bool val = false;           // patient split
    FprSource source = FprSource::Candidate;
    double probability = 0;     // the candidate's probability before reduction (1 for added centres and views)
    double angle_deg = 0;       // the cube's turn about z (extract_cube)

    bool from_candidates() const { return source == FprSource::Candidate; }
};

// The extra views of one annotated nodule: `count` centres drawn uniformly from the ball of a quarter of its
// diameter around the annotated centre (where a detector's candidate for it lands: LUNA16 counts hits within half
// the diameter), each with a uniform turn about z. Derived from (seed, the nodule's uid and index) only.
std::vector<FprRow> nodule_views(const Annotation& nodule, int nodule_index, int count, std::uint64_t seed);

// Which negatives a training scan over the cap keeps (FprSetOptions::max_train_negatives_per_scan).
enum class NegativeChoice {
    Random,   // a uniform draw, seeded by the scan's uid
    Hardest,  // the highest detector probabilities (ties in the candidates' order): the false positives the
              // reduction will have to rank below the nodules
};
inline constexpr EnumName<NegativeChoice> kNegativeChoiceNames[] = {{NegativeChoice::Random, "random"}, {NegativeChoice::Hardest, "hardest"}};

struct FprSetOptions {
    std::string data_dir;      // cohort: subset*/<uid>.mhd or <uid>.mhd
    std::string candidates;    // detect's output on these scans
    std::string annotations;   // default data_dir/annotations.csv
    std::string excluded;      // default data_dir/annotations_excluded.csv when present
    std::string out_dir;
    PatchOptions patch;
    bool add_annotations = true;
    // Extra views of each annotated training nodule (nodule_views): the reduction sees only a hundred or so
    // nodules in a small cohort, and flips, quarter turns and 1-voxel shifts of the same cut are all it has of them.
    int positive_views = 0;
    // At most this many negative candidates of each training scan (0: all), chosen as `negative_choice` says;
    // validation scans keep all theirs, so the validation CPM scores every candidate. Why: the U-Net's
    // candidate count swings threefold between training draws (500-1,500 on the demo's 24 scans), and the
    // reduction's training time with it; a cap bounds the demo's time whatever the draw (docs/pipeline.md).
    int max_train_negatives_per_scan = 0;
    NegativeChoice negative_choice = NegativeChoice::Random;
    double val_fraction = 0.2;
    std::vector<int> val_subsets;
    std::uint64_t seed = 0;
    int threads = 1;

    void check() const;
};
// The inputs and how they are cut and split (not out_dir, seed or threads: the trainer sets those).
void to_json(nlohmann::json& j, const FprSetOptions& o);
void from_json(const nlohmann::json& j, FprSetOptions& o);

struct FprSetSummary {
    int scans = 0;
    std::int64_t rows = 0, positives = 0, negatives = 0, ignored = 0, added_centres = 0, added_views = 0, train = 0, val = 0;
    std::int64_t train_positives = 0, train_negatives = 0;
    std::int64_t candidates_without_scan = 0;
    std::int64_t negatives_dropped = 0;  // training negatives beyond max_train_negatives_per_scan
    bool reused = false;  // an identical set was already in out_dir
    std::vector<std::string> val_uids;
};

// Labels every candidate, adds annotated centres, splits by patient, and writes FPR/patches.npy, patches.csv and
// patches.json (the inputs' fingerprint: an identical request reuses the set). Scans are read one at a time.
FprSetSummary build_fpr_set(const FprSetOptions& opts);

std::vector<FprRow> read_fpr_rows(const std::string& path);

}  // namespace nodulecad
