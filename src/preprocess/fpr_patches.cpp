#include "nodulecad/preprocess/fpr_patches.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/core/math.hpp"
#include "nodulecad/core/progress.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/core/trilinear.hpp"
#include "nodulecad/io/cohort_layout.hpp"
#include "nodulecad/io/csv.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/io/npy.hpp"
#include "nodulecad/io/text_numbers.hpp"
#include "nodulecad/preprocess/patient_split.hpp"

namespace nodulecad {

namespace fs = std::filesystem;

void PatchOptions::check() const {
    if (patch < 4 || patch > 256 || patch % 2 != 0) throw OptionError("patch", "must be an even number of voxels between 4 and 256, got " + shown(patch));
    require_positive("patch_mm", patch_mm);
    require_between("slab", slab, 0, patch / 2);
    require_between("max_shift", max_shift, 0, patch / 2);
    if (!(window_hi > window_lo)) throw OptionError("window", "upper bound must be above the lower, got " + shown(window_lo) + " to " + shown(window_hi));
}

void to_json(nlohmann::json& j, const PatchOptions& o) {
    j = {{"patch", o.patch}, {"patch_mm", o.patch_mm}, {"slab", o.slab}, {"max_shift", o.max_shift}, {"window", {o.window_lo, o.window_hi}}};
}

void from_json(const nlohmann::json& j, PatchOptions& o) {
    o.patch = j.value("patch", o.patch);
    o.patch_mm = j.value("patch_mm", o.patch_mm);
    o.slab = j.value("slab", o.slab);
    o.max_shift = j.value("max_shift", o.max_shift);
    if (j.contains("window")) {
        o.window_lo = j.at("window").at(0).get<double>();
        o.window_hi = j.at("window").at(1).get<double>();
    }
}

void FprSetOptions::check() const {
    patch.check();
    require_fraction("val_fraction", val_fraction);
    require_between("positive_views", positive_views, 0, 1000);
    require_between("max_train_negatives_per_scan", max_train_negatives_per_scan, 0, 1000000);
}

void to_json(nlohmann::json& j, const FprSetOptions& o) {
    j = {{"data", o.data_dir},       {"candidates", o.candidates},     {"annotations", o.annotations},     {"excluded", o.excluded},
         {"patch", o.patch},         {"add_annotations", o.add_annotations}, {"val_fraction", o.val_fraction}, {"val_subsets", o.val_subsets}};
    if (o.positive_views != 0) j["positive_views"] = o.positive_views;  // only then: work folders from before it stay valid
    if (o.max_train_negatives_per_scan != 0) j["max_train_negatives_per_scan"] = o.max_train_negatives_per_scan;  // likewise
    if (o.negative_choice != NegativeChoice::Random) j["negative_choice"] = enum_name(o.negative_choice, kNegativeChoiceNames);  // likewise
}

void from_json(const nlohmann::json& j, FprSetOptions& o) {
    o.data_dir = j.value("data", o.data_dir);
    o.candidates = j.value("candidates", o.candidates);
    o.annotations = j.value("annotations", o.annotations);
    o.excluded = j.value("excluded", o.excluded);
    if (j.contains("patch")) j.at("patch").get_to(o.patch);
    o.add_annotations = j.value("add_annotations", o.add_annotations);
    o.positive_views = j.value("positive_views", o.positive_views);
    o.max_train_negatives_per_scan = j.value("max_train_negatives_per_scan", o.max_train_negatives_per_scan);
    if (j.contains("negative_choice")) o.negative_choice = parse_enum("negative_choice", j.at("negative_choice").get<std::string>(), kNegativeChoiceNames);
    o.val_fraction = j.value("val_fraction", o.val_fraction);
    o.val_subsets = j.value("val_subsets", o.val_subsets);
}

void extract_cube(const Volume<std::int16_t>& scan, const Vec3& world, const PatchOptions& o, std::uint8_t* cube, double angle_deg) {
    const Geometry& g = scan.geometry;
    const IndexWorldTransform t(g);
    const Mat3& m = t.world_to_index_matrix();
    const int D = o.cube();
    const double h = (D - 1) / 2.0;
    // The cube's axes in world coordinates (at angle 0 exactly the world axes, so plain cuts stay bit for bit).
    const double turn = angle_deg * (kPi / 180.0);
    const double c0 = angle_deg == 0 ? 1.0 : std::cos(turn), s0 = angle_deg == 0 ? 0.0 : std::sin(turn);
    const Vec3 axes[3] = {{c0, s0, 0}, {-s0, c0, 0}, {0, 0, 1}};
    // Continuous index is affine in (a, b, c): start + a * step[0] + b * step[1] + c * step[2].
    Vec3 corner = world;
    for (const Vec3& u : axes)
        for (std::size_t r = 0; r < 3; ++r) corner[r] -= h * o.patch_mm * u[r];
    const Vec3 start = t.to_index(corner);
    Vec3 step[3];
    for (int axis = 0; axis < 3; ++axis) {
        const Vec3& u = axes[axis];
        step[axis] = multiply(m, Vec3{u[0] * o.patch_mm, u[1] * o.patch_mm, u[2] * o.patch_mm});
    }
    const double scale = 255.0 / (o.window_hi - o.window_lo);
    std::size_t n = 0;
    for (int c = 0; c < D; ++c)
        for (int b = 0; b < D; ++b)
            for (int a = 0; a < D; ++a, ++n) {
                Vec3 p;
                for (std::size_t r = 0; r < 3; ++r) p[r] = start[r] + a * step[0][r] + b * step[1][r] + c * step[2][r];
                const double v = trilinear(scan, p, o.window_lo);
                cube[n] = static_cast<std::uint8_t>(std::lround(std::clamp((v - o.window_lo) * scale, 0.0, 255.0)));
            }
}

Augment draw_augment(Rng& rng, int max_shift) {
    Augment a;
    for (auto& f : a.flip) f = rng.chance(0.5);
    a.rotate = rng.integer(0, 3);
    for (auto& s : a.shift) s = rng.integer(-max_shift, max_shift);
    return a;
}

void augment_intensity(float* values, std::size_t n, double amount, Rng& rng) {
    if (amount <= 0) return;
    const auto gain = static_cast<float>(rng.uniform(1 - amount, 1 + amount));
    const auto offset = static_cast<float>(rng.uniform(-amount / 4, amount / 4));
    for (std::size_t i = 0; i < n; ++i) values[i] = values[i] * gain + offset;
}

Augment cube_symmetry(int s) {
    require_between("symmetry", s, 0, kCubeSymmetries - 1);
    Augment a;
    a.rotate = s % 4;
    a.flip[0] = s % 8 >= 4;
    a.flip[2] = s >= 8;
    return a;
}

namespace {

// The cube's byte at output offset q from the cube's centre under an augmentation: rotate about z, then mirror,
// then shift.
class AugmentedCube {
public:
    AugmentedCube(const std::uint8_t* cube, const PatchOptions& o, const Augment& aug) : cube_(cube), aug_(aug), D_(o.cube()), h_((D_ - 1) / 2) {}
    std::uint8_t operator()(int qx, int qy, int qz) const {
        for (int r = 0; r < aug_.rotate; ++r) {
            const int t = qx;
            qx = -qy;
            qy = t;
        }
        if (aug_.flip[0]) qx = -qx;
        if (aug_.flip[1]) qy = -qy;
        if (aug_.flip[2]) qz = -qz;
        const auto a = static_cast<std::size_t>(h_ + qx + aug_.shift[0]), b = static_cast<std::size_t>(h_ + qy + aug_.shift[1]),
                   c = static_cast<std::size_t>(h_ + qz + aug_.shift[2]), D = static_cast<std::size_t>(D_);
        return cube_[(c * D + b) * D + a];
    }

private:
    const std::uint8_t* cube_;
    Augment aug_;
    int D_, h_;
};

constexpr float kInv255 = 1.0f / 255.0f;

}  // namespace

void cube_views(const std::uint8_t* cube, const PatchOptions& o, const Augment& aug, float* out) {
    const AugmentedCube source(cube, o, aug);
    const int P = o.patch, half = P / 2;
    const int offsets[3] = {-o.slab, 0, o.slab};
    std::size_t n = 0;
    for (int view = 0; view < 3; ++view)
        for (int plane = 0; plane < 3; ++plane) {
            const int t = offsets[plane];
            for (int v = 0; v < P; ++v)
                for (int u = 0; u < P; ++u, ++n) {
                    const int du = u - half, dv = v - half;
                    const std::uint8_t value = view == 0 ? source(du, dv, t) : view == 1 ? source(du, t, dv) : source(t, du, dv);
                    out[n] = static_cast<float>(value) * kInv255;
                }
        }
}

void cube_crop(const std::uint8_t* cube, const PatchOptions& o, const Augment& aug, float* out) {
    const AugmentedCube source(cube, o, aug);
    const int P = o.patch, half = P / 2;
    std::size_t n = 0;
    for (int z = 0; z < P; ++z)
        for (int y = 0; y < P; ++y)
            for (int x = 0; x < P; ++x, ++n) out[n] = static_cast<float>(source(x - half, y - half, z - half)) * kInv255;
}

FprLabel label_candidate(const Vec3& w, const std::vector<Annotation>& nodules, const std::vector<Annotation>& excluded) {
    for (const auto& a : nodules)
        if (luna16_hit(w, a)) return FprLabel::Positive;
    for (const auto& a : excluded)
        if (luna16_hit(w, a)) return FprLabel::Ignored;
    return FprLabel::Negative;
}

std::vector<FprRow> nodule_views(const Annotation& nodule, int nodule_index, int count, std::uint64_t seed) {
    std::vector<FprRow> views;
    Rng rng = Rng::derive(seed, {hash_string(nodule.seriesuid), static_cast<std::uint64_t>(nodule_index), 0x51E3ULL});
    const double reach = std::max(0.0, nodule.diameter_mm / 4);
    for (int k = 0; k < count; ++k) {
        Vec3 d;
        do {  // uniform in the unit ball by rejection (accepts about half the draws)
            for (double& v : d) v = rng.uniform(-1, 1);
        } while (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] > 1);
        Vec3 centre = nodule.world;
        for (std::size_t r = 0; r < 3; ++r) centre[r] += reach * d[r];
        views.push_back({nodule.seriesuid, centre, 1, false, FprSource::View, 1.0, rng.uniform(0, 360)});
    }
    return views;
}

namespace {

const char* kHeader = "seriesuid,coordX,coordY,coordZ,label,split,source,probability,angle_deg";
const char* kSourceNames[] = {"candidate", "annotation", "view"};

std::uint64_t hash_file(const std::string& path) { return path.empty() ? 0 : hash_string(read_file(path)); }

void write_rows(const std::string& path, const std::vector<FprRow>& rows) {
    std::string out = std::string(kHeader) + "\n";
    for (const auto& r : rows)
        out += format_csv_row({r.seriesuid, format_double(r.world[0]), format_double(r.world[1]), format_double(r.world[2]), std::to_string(r.label),
                               r.val ? "val" : "train", kSourceNames[static_cast<int>(r.source)], format_double(r.probability), format_double(r.angle_deg)});
    write_file_atomically(path, out);
}

}  // namespace

std::vector<FprRow> read_fpr_rows(const std::string& path) {
    const CsvTable t = read_csv(path, true);
    const std::size_t uid = t.column("seriesuid"), x = t.column("coordX"), y = t.column("coordY"), z = t.column("coordZ"), label = t.column("label"),
                      split = t.column("split"), source = t.column("source"), prob = t.column("probability");
    // Sets written before the extra views have no turns: every cut along the world axes.
    const auto angle_column = std::find(t.header.begin(), t.header.end(), "angle_deg");
    const bool has_angle = angle_column != t.header.end();
    const auto angle = static_cast<std::size_t>(angle_column - t.header.begin());
    const auto number = [&](const CsvRow& r, std::size_t k) {
        if (k >= r.fields.size()) fail(path, "missing field '" + t.header[k] + "'", r.line);
        const auto d = parse_double(r.fields[k]);
        if (!d) fail(path, "column '" + t.header[k] + "': '" + r.fields[k] + "' is not a number", r.line);
        return *d;
    };
    std::vector<FprRow> rows;
    for (const auto& r : t.rows) {
        FprRow row;
        row.seriesuid = r.fields.at(uid);
        row.world = {number(r, x), number(r, y), number(r, z)};
        row.label = number(r, label) > 0.5 ? 1 : 0;
        row.val = split < r.fields.size() && r.fields[split] == "val";
        const std::string what = source < r.fields.size() ? r.fields[source] : "";
        const auto* name = std::find(std::begin(kSourceNames), std::end(kSourceNames), what);
        if (name == std::end(kSourceNames)) fail(path, "column 'source': '" + what + "' is not candidate, annotation or view", r.line);
        row.source = static_cast<FprSource>(name - std::begin(kSourceNames));
        row.probability = number(r, prob);
        if (has_angle) row.angle_deg = number(r, angle);
        rows.push_back(row);
    }
    return rows;
}

namespace {

// Each scan's rows: its candidates in file order, labelled by LUNA16's rule (those near excluded findings left
// out), then (training scans, when asked) its annotated nodule centres as extra positives and their extra views.
std::map<std::string, std::vector<FprRow>> label_rows(const std::vector<ScanFile>& scans, const std::vector<Candidate>& candidates, const AnnotationsByUid& nodules,
                                                      const AnnotationsByUid& excluded, const std::set<std::string>& val, bool add_annotations, int positive_views,
                                                      std::uint64_t seed, FprSetSummary& sum) {
    std::set<std::string> have;
    for (const auto& s : scans) have.insert(s.uid);
    std::map<std::string, std::vector<FprRow>> by_scan;
    for (const auto& c : candidates) {
        if (!have.count(c.seriesuid)) {
            ++sum.candidates_without_scan;
            continue;
        }
        const FprLabel l = label_candidate(c.world, annotations_of(nodules, c.seriesuid), annotations_of(excluded, c.seriesuid));
        if (l == FprLabel::Ignored) {
            ++sum.ignored;
            continue;
        }
        by_scan[c.seriesuid].push_back({c.seriesuid, c.world, static_cast<int>(l), val.count(c.seriesuid) > 0, FprSource::Candidate, c.probability, 0.0});
    }
    if (add_annotations)
        for (const auto& s : scans)
            if (!val.count(s.uid)) {
                const auto& mine = annotations_of(nodules, s.uid);
                for (const auto& a : mine) {
                    by_scan[s.uid].push_back({s.uid, a.world, 1, false, FprSource::Annotation, 1.0, 0.0});
                    ++sum.added_centres;
                }
                for (std::size_t n = 0; n < mine.size(); ++n)
                    for (FprRow& v : nodule_views(mine[n], static_cast<int>(n), positive_views, seed)) {
                        by_scan[s.uid].push_back(std::move(v));
                        ++sum.added_views;
                    }
            }
    return by_scan;
}

// Keeps at most `cap` negative candidates of each training scan, in their order: a seeded random choice per scan
// (uid), or the highest probabilities; validation scans, positives and added centres are untouched.
void cap_training_negatives(std::map<std::string, std::vector<FprRow>>& by_scan, int cap, NegativeChoice choice, std::uint64_t seed,
                            FprSetSummary& sum) {
    if (cap <= 0) return;
    for (auto& entry : by_scan) {
        // A plain reference, not a structured binding: C++17 lambdas cannot capture bindings (clang refuses it).
        const std::string& uid = entry.first;
        std::vector<FprRow>& rows = entry.second;
        std::vector<std::size_t> negatives;
        for (std::size_t i = 0; i < rows.size(); ++i)
            if (!rows[i].val && rows[i].from_candidates() && rows[i].label == 0) negatives.push_back(i);
        if (negatives.size() <= static_cast<std::size_t>(cap)) continue;
        if (choice == NegativeChoice::Hardest) {
            std::stable_sort(negatives.begin(), negatives.end(), [&](std::size_t a, std::size_t b) { return rows[a].probability > rows[b].probability; });
        } else {
            Rng rng = Rng::derive(seed, {hash_string(uid), 0xCA9ULL});
            shuffle(negatives, rng);  // the first `cap` are a uniform choice
        }
        std::vector<bool> drop(rows.size(), false);
        for (std::size_t k = static_cast<std::size_t>(cap); k < negatives.size(); ++k) drop[negatives[k]] = true;
        std::vector<FprRow> kept;
        for (std::size_t i = 0; i < rows.size(); ++i)
            if (!drop[i]) kept.push_back(std::move(rows[i]));
        sum.negatives_dropped += static_cast<std::int64_t>(rows.size() - kept.size());
        rows = std::move(kept);
    }
}

// The fingerprint of everything the set depends on; an identical one in out_dir means the work is done.
nlohmann::json set_key(const FprSetOptions& o, const std::string& ann_path, const std::string& exc_path, const std::vector<ScanFile>& scans,
                       const FprSetSummary& sum) {
    nlohmann::json key = {{"candidates", hash_file(o.candidates)}, {"annotations", hash_file(ann_path)}, {"excluded", hash_file(exc_path)},
                          {"patch", o.patch.patch}, {"patch_mm", o.patch.patch_mm}, {"slab", o.patch.slab}, {"max_shift", o.patch.max_shift},
                          {"window", {o.patch.window_lo, o.patch.window_hi}}, {"add_annotations", o.add_annotations},
                          {"val_uids", sum.val_uids}, {"rows", sum.rows}};
    nlohmann::json scan_list = nlohmann::json::array();
    for (const auto& s : scans) scan_list.push_back({s.uid, path_bytes(s.path)});
    key["scans"] = hash_string(scan_list.dump());
    return key;
}

bool set_is_done(const std::string& dir, const nlohmann::json& key) {
    const fs::path d(dir);
    std::error_code ec;
    if (!fs::exists(d / "patches.npy", ec) || !fs::exists(d / "patches.csv", ec) || !fs::exists(d / "patches.json", ec)) return false;
    try {
        return nlohmann::json::parse(read_file((d / "patches.json").string())).at("key") == key;
    } catch (const nlohmann::json::exception&) {
        return false;
    }
}

// patches.npy, streamed scan by scan (the header first: N is known from the labels); scans are read one at a time.
void write_cubes(const std::string& npy, const std::vector<ScanFile>& scans, const std::map<std::string, std::vector<FprRow>>& by_scan,
                 const FprSetOptions& o, std::int64_t rows) {
    const int D = o.patch.cube();
    const std::size_t cube_bytes = static_cast<std::size_t>(D) * static_cast<std::size_t>(D) * static_cast<std::size_t>(D);
    write_file_atomically(npy, [&](std::FILE* f) {
        const std::string header = format_npy_header("|u1", {rows, D, D, D});
        write_all(f, header.data(), header.size(), npy);
        Progress progress("fpr patches", rows, "patches");
        std::vector<std::uint8_t> buffer;
        for (const auto& s : scans) {
            const auto it = by_scan.find(s.uid);
            if (it == by_scan.end() || it->second.empty()) continue;
            const auto& mine = it->second;
            const Volume<std::int16_t> scan = read_scan(s);
            buffer.assign(mine.size() * cube_bytes, 0);
            parallel_for(static_cast<std::int64_t>(mine.size()), std::max(1, o.threads), [&](std::int64_t n) {
                const FprRow& row = mine[static_cast<std::size_t>(n)];
                extract_cube(scan, row.world, o.patch, buffer.data() + static_cast<std::size_t>(n) * cube_bytes, row.angle_deg);
            });
            write_all(f, buffer.data(), buffer.size(), npy);
            progress.advance(static_cast<std::int64_t>(mine.size()));
        }
    });
}

}  // namespace

FprSetSummary build_fpr_set(const FprSetOptions& o) {
    o.check();
    const std::vector<ScanFile> scans = find_scans(o.data_dir);
    const std::string ann_path = o.annotations.empty() ? default_annotations(o.data_dir) : o.annotations;
    const std::string exc_path = o.excluded.empty() ? default_excluded(o.data_dir) : o.excluded;
    std::error_code ec;
    if (!fs::exists(ann_path, ec)) fail(ann_path, "annotations file not found (give --annotations)");
    if (!fs::exists(o.candidates, ec)) fail(o.candidates, "candidates file not found (make it with nodulecad detect)");
    const AnnotationsByUid nodules = group_by_uid(read_annotations(ann_path));
    const AnnotationsByUid excluded = exc_path.empty() ? AnnotationsByUid{} : group_by_uid(read_annotations(exc_path));

    FprSetSummary sum;
    sum.scans = static_cast<int>(scans.size());
    const std::set<std::string> val = validation_uids(scans, o.val_fraction, o.val_subsets, o.seed);
    sum.val_uids.assign(val.begin(), val.end());
    auto by_scan = label_rows(scans, read_results(o.candidates), nodules, excluded, val, o.add_annotations, o.positive_views, o.seed, sum);
    cap_training_negatives(by_scan, o.max_train_negatives_per_scan, o.negative_choice, o.seed, sum);
    std::vector<FprRow> rows;
    for (const auto& s : scans)
        if (const auto it = by_scan.find(s.uid); it != by_scan.end()) rows.insert(rows.end(), it->second.begin(), it->second.end());
    for (const auto& r : rows) {
        (r.label ? sum.positives : sum.negatives) += 1;
        (r.val ? sum.val : sum.train) += 1;
        if (!r.val) (r.label ? sum.train_positives : sum.train_negatives) += 1;
    }
    sum.rows = static_cast<std::int64_t>(rows.size());
    if (rows.empty()) fail(o.candidates, "no usable candidates on the scans of " + o.data_dir);

    nlohmann::json key = set_key(o, ann_path, exc_path, scans, sum);
    if (o.positive_views != 0) key["positive_views"] = o.positive_views;  // only then: sets from before it stay valid
    if (o.max_train_negatives_per_scan != 0) key["max_train_negatives_per_scan"] = o.max_train_negatives_per_scan;
    if (o.negative_choice != NegativeChoice::Random) key["negative_choice"] = enum_name(o.negative_choice, kNegativeChoiceNames);
    fs::create_directories(o.out_dir, ec);
    if (ec) fail(o.out_dir, "cannot create output folder: " + ec.message());
    if (set_is_done(o.out_dir, key)) {
        sum.reused = true;
        return sum;
    }
    write_cubes((fs::path(o.out_dir) / "patches.npy").string(), scans, by_scan, o, sum.rows);
    write_rows((fs::path(o.out_dir) / "patches.csv").string(), rows);
    nlohmann::ordered_json info = {{"key", key},
                                   {"rows", sum.rows},
                                   {"positives", sum.positives},
                                   {"negatives", sum.negatives},
                                   {"ignored_near_excluded", sum.ignored},
                                   {"added_centres", sum.added_centres},
                                   {"added_views", sum.added_views},
                                   {"train", sum.train},
                                   {"val", sum.val},
                                   {"candidates_without_scan", sum.candidates_without_scan},
                                   {"training_negatives_dropped", sum.negatives_dropped},
                                   {"cube", o.patch.cube()}};
    write_file_atomically((fs::path(o.out_dir) / "patches.json").string(), info.dump(1) + "\n");
    return sum;
}

}  // namespace nodulecad
