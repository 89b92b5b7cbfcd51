#include "preprocess/fpr_patches.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/progress.hpp"
#include "core/threads.hpp"
#include "io/cohort_layout.hpp"
#include "io/csv.hpp"
#include "io/metaimage.hpp"
#include "io/npy.hpp"
#include "io/text_numbers.hpp"

namespace nodulecad {

namespace fs = std::filesystem;

void PatchOptions::check() const {
    if (patch < 4 || patch > 256 || patch % 2 != 0) throw Error("--patch must be an even number of voxels between 4 and 256");
    if (!(patch_mm > 0)) throw Error("--patch-mm must be positive");
    if (slab < 0 || slab > patch / 2) throw Error("--slab must be between 0 and half the patch");
    if (max_shift < 0 || max_shift > patch / 2) throw Error("--max-shift must be between 0 and half the patch");
    if (!(window_hi > window_lo)) throw Error("the HU window's upper bound must be above its lower bound");
}

void extract_cube(const Volume<std::int16_t>& scan, const Vec3& world, const PatchOptions& o, std::uint8_t* cube) {
    const Geometry& g = scan.geometry;
    const IndexWorldTransform t(g);
    const Mat3& m = t.world_to_index_matrix();
    const int D = o.cube();
    const double h = (D - 1) / 2.0;
    // Continuous index is affine in (a, b, c): start + a * step[0] + b * step[1] + c * step[2].
    const Vec3 start = t.to_index({world[0] - h * o.patch_mm, world[1] - h * o.patch_mm, world[2] - h * o.patch_mm});
    Vec3 step[3];
    for (int axis = 0; axis < 3; ++axis)
        for (int r = 0; r < 3; ++r) step[axis][static_cast<std::size_t>(r)] = m[static_cast<std::size_t>(3 * r + axis)] * o.patch_mm;
    const auto nx = g.size[0], ny = g.size[1], nz = g.size[2];
    const double scale = 255.0 / (o.window_hi - o.window_lo);
    const auto at = [&](std::int64_t i, std::int64_t j, std::int64_t k) -> double {
        if (i < 0 || j < 0 || k < 0 || i >= nx || j >= ny || k >= nz) return o.window_lo;
        return scan.voxels[static_cast<std::size_t>((k * ny + j) * nx + i)];
    };
    std::size_t n = 0;
    for (int c = 0; c < D; ++c)
        for (int b = 0; b < D; ++b)
            for (int a = 0; a < D; ++a, ++n) {
                double p[3];
                for (std::size_t r = 0; r < 3; ++r) p[r] = start[r] + a * step[0][r] + b * step[1][r] + c * step[2][r];
                const double fi = std::floor(p[0]), fj = std::floor(p[1]), fk = std::floor(p[2]);
                const double ti = p[0] - fi, tj = p[1] - fj, tk = p[2] - fk;
                const auto i = static_cast<std::int64_t>(fi), j = static_cast<std::int64_t>(fj), k = static_cast<std::int64_t>(fk);
                double v = 0;
                for (int dk = 0; dk < 2; ++dk)
                    for (int dj = 0; dj < 2; ++dj)
                        for (int di = 0; di < 2; ++di) {
                            const double w = (di ? ti : 1 - ti) * (dj ? tj : 1 - tj) * (dk ? tk : 1 - tk);
                            if (w > 0) v += w * at(i + di, j + dj, k + dk);
                        }
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

void cube_views(const std::uint8_t* cube, const PatchOptions& o, const Augment& aug, float* out) {
    const int P = o.patch, D = o.cube(), h = (D - 1) / 2, half = P / 2;
    // Source offset of output offset q: rotate about z, then mirror, then shift.
    const auto source = [&](int qx, int qy, int qz) {
        for (int r = 0; r < aug.rotate; ++r) {
            const int t = qx;
            qx = -qy;
            qy = t;
        }
        if (aug.flip[0]) qx = -qx;
        if (aug.flip[1]) qy = -qy;
        if (aug.flip[2]) qz = -qz;
        const int a = h + qx + aug.shift[0], b = h + qy + aug.shift[1], c = h + qz + aug.shift[2];
        return cube[(static_cast<std::size_t>(c) * static_cast<std::size_t>(D) + static_cast<std::size_t>(b)) * static_cast<std::size_t>(D) + static_cast<std::size_t>(a)];
    };
    constexpr float kInv = 1.0f / 255.0f;
    const int offsets[3] = {-o.slab, 0, o.slab};
    std::size_t n = 0;
    for (int view = 0; view < 3; ++view)
        for (int plane = 0; plane < 3; ++plane) {
            const int t = offsets[plane];
            for (int v = 0; v < P; ++v)
                for (int u = 0; u < P; ++u, ++n) {
                    const int du = u - half, dv = v - half;
                    const std::uint8_t value = view == 0 ? source(du, dv, t) : view == 1 ? source(du, t, dv) : source(t, du, dv);
                    out[n] = static_cast<float>(value) * kInv;
                }
        }
}

FprLabel label_candidate(const Vec3& w, const std::vector<Annotation>& nodules, const std::vector<Annotation>& excluded) {
    const auto d2 = [&](const Vec3& a) { return (a[0] - w[0]) * (a[0] - w[0]) + (a[1] - w[1]) * (a[1] - w[1]) + (a[2] - w[2]) * (a[2] - w[2]); };
    for (const auto& a : nodules)
        if (d2(a.world) < 0.25 * a.diameter_mm * a.diameter_mm) return FprLabel::Positive;
    for (const auto& a : excluded) {
        const double d = a.diameter_mm < 0 ? 10.0 : a.diameter_mm;
        if (d2(a.world) < 0.25 * d * d) return FprLabel::Ignored;
    }
    return FprLabel::Negative;
}

std::string default_annotations(const std::string& data_dir) { return (fs::path(data_dir) / "annotations.csv").string(); }

std::string default_excluded(const std::string& data_dir) {
    const std::string p = (fs::path(data_dir) / "annotations_excluded.csv").string();
    std::error_code ec;
    return fs::exists(p, ec) ? p : std::string();
}

namespace {

const char* kHeader = "seriesuid,coordX,coordY,coordZ,label,split,source,probability";

std::uint64_t hash_file(const std::string& path) { return path.empty() ? 0 : hash_string(read_file(path)); }

void write_rows(const std::string& path, const std::vector<FprRow>& rows) {
    std::string out = std::string(kHeader) + "\n";
    for (const auto& r : rows)
        out += format_csv_row({r.seriesuid, format_double(r.world[0]), format_double(r.world[1]), format_double(r.world[2]), std::to_string(r.label),
                               r.val ? "val" : "train", r.from_candidates ? "candidate" : "annotation", format_double(r.probability)});
    write_file_atomically(path, out);
}

}  // namespace

std::vector<FprRow> read_fpr_rows(const std::string& path) {
    const CsvTable t = read_csv(path, true);
    const std::size_t uid = t.column("seriesuid"), x = t.column("coordX"), y = t.column("coordY"), z = t.column("coordZ"), label = t.column("label"),
                      split = t.column("split"), source = t.column("source"), prob = t.column("probability");
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
        row.from_candidates = source < r.fields.size() && r.fields[source] == "candidate";
        row.probability = number(r, prob);
        rows.push_back(row);
    }
    return rows;
}

FprSetSummary build_fpr_set(const FprSetOptions& o) {
    o.patch.check();
    if (!(o.val_fraction >= 0 && o.val_fraction < 1)) throw Error("--val-fraction must be in [0, 1)");
    const std::vector<ScanFile> scans = find_scans(o.data_dir);
    const std::string ann_path = o.annotations.empty() ? default_annotations(o.data_dir) : o.annotations;
    const std::string exc_path = o.excluded.empty() ? default_excluded(o.data_dir) : o.excluded;
    std::error_code ec;
    if (!fs::exists(ann_path, ec)) fail(ann_path, "annotations file not found (give --annotations)");
    if (!fs::exists(o.candidates, ec)) fail(o.candidates, "candidates file not found (make it with nodulecad detect)");
    std::map<std::string, std::vector<Annotation>> nodules, excluded;
    for (auto& a : read_annotations(ann_path)) nodules[a.seriesuid].push_back(a);
    if (!exc_path.empty())
        for (auto& a : read_annotations(exc_path)) excluded[a.seriesuid].push_back(a);
    const std::vector<Candidate> candidates = read_results(o.candidates);

    FprSetSummary sum;
    sum.scans = static_cast<int>(scans.size());
    const std::set<std::string> val = validation_uids(scans, o.val_fraction, o.val_subsets, o.seed);
    sum.val_uids.assign(val.begin(), val.end());
    std::map<std::string, const ScanFile*> scan_of;
    for (const auto& s : scans) scan_of[s.uid] = &s;

    // Rows in scan order: the scan's candidates in file order, then (training scans) its annotated centres.
    std::map<std::string, std::vector<FprRow>> by_scan;
    const std::vector<Annotation> none;
    const auto of = [&](const std::map<std::string, std::vector<Annotation>>& m, const std::string& uid) -> const std::vector<Annotation>& {
        const auto it = m.find(uid);
        return it == m.end() ? none : it->second;
    };
    for (const auto& c : candidates) {
        if (!scan_of.count(c.seriesuid)) {
            ++sum.candidates_without_scan;
            continue;
        }
        const FprLabel l = label_candidate(c.world, of(nodules, c.seriesuid), of(excluded, c.seriesuid));
        if (l == FprLabel::Ignored) {
            ++sum.ignored;
            continue;
        }
        by_scan[c.seriesuid].push_back({c.seriesuid, c.world, static_cast<int>(l), val.count(c.seriesuid) > 0, true, c.probability});
    }
    if (o.add_annotations)
        for (const auto& s : scans)
            if (!val.count(s.uid))
                for (const auto& a : of(nodules, s.uid)) {
                    by_scan[s.uid].push_back({s.uid, a.world, 1, false, false, 1.0});
                    ++sum.added_centres;
                }
    std::vector<FprRow> rows;
    for (const auto& s : scans)
        for (const auto& r : by_scan[s.uid]) rows.push_back(r);
    for (const auto& r : rows) {
        (r.label ? sum.positives : sum.negatives) += 1;
        (r.val ? sum.val : sum.train) += 1;
        if (!r.val) (r.label ? sum.train_positives : sum.train_negatives) += 1;
    }
    sum.rows = static_cast<std::int64_t>(rows.size());
    if (rows.empty()) fail(o.candidates, "no usable candidates on the scans of " + o.data_dir);

    // The fingerprint of everything the set depends on; an identical one in out_dir means the work is done.
    nlohmann::json key = {{"candidates", hash_file(o.candidates)}, {"annotations", hash_file(ann_path)}, {"excluded", hash_file(exc_path)},
                          {"patch", o.patch.patch}, {"patch_mm", o.patch.patch_mm}, {"slab", o.patch.slab}, {"max_shift", o.patch.max_shift},
                          {"window", {o.patch.window_lo, o.patch.window_hi}}, {"add_annotations", o.add_annotations},
                          {"val_uids", sum.val_uids}, {"rows", sum.rows}};
    nlohmann::json scan_list = nlohmann::json::array();
    for (const auto& s : scans) scan_list.push_back({s.uid, file_size(s.path)});
    key["scans"] = hash_string(scan_list.dump());
    fs::create_directories(o.out_dir, ec);
    if (ec) fail(o.out_dir, "cannot create output folder: " + ec.message());
    const std::string npy = (fs::path(o.out_dir) / "patches.npy").string(), csv = (fs::path(o.out_dir) / "patches.csv").string(),
                      meta = (fs::path(o.out_dir) / "patches.json").string();
    if (fs::exists(npy, ec) && fs::exists(csv, ec) && fs::exists(meta, ec)) {
        try {
            if (nlohmann::json::parse(read_file(meta)).at("key") == key) {
                sum.reused = true;
                return sum;
            }
        } catch (const nlohmann::json::exception&) {
        }
    }

    // Stream the cubes scan by scan into the final array (header first: N is known from the labels).
    const int D = o.patch.cube();
    const std::size_t cube_bytes = static_cast<std::size_t>(D) * static_cast<std::size_t>(D) * static_cast<std::size_t>(D);
    write_file_atomically(npy, [&](std::FILE* f) {
        const std::string header = format_npy_header("|u1", {sum.rows, D, D, D});
        write_all(f, header.data(), header.size(), npy);
        Progress progress("fpr patches", sum.rows, "patches");
        std::size_t first = 0;
        std::vector<std::uint8_t> buffer;
        for (const auto& s : scans) {
            const auto& mine = by_scan[s.uid];
            if (mine.empty()) continue;
            const Volume<std::int16_t> scan = read_volume<std::int16_t>(s.path);
            buffer.assign(mine.size() * cube_bytes, 0);
            parallel_for(static_cast<std::int64_t>(mine.size()), std::max(1, o.threads), [&](std::int64_t n) {
                extract_cube(scan, mine[static_cast<std::size_t>(n)].world, o.patch, buffer.data() + static_cast<std::size_t>(n) * cube_bytes);
            });
            write_all(f, buffer.data(), buffer.size(), npy);
            first += mine.size();
            progress.advance(static_cast<std::int64_t>(mine.size()));
        }
    });
    write_rows(csv, rows);
    nlohmann::ordered_json info = {{"key", key},
                                   {"rows", sum.rows},
                                   {"positives", sum.positives},
                                   {"negatives", sum.negatives},
                                   {"ignored_near_excluded", sum.ignored},
                                   {"added_centres", sum.added_centres},
                                   {"train", sum.train},
                                   {"val", sum.val},
                                   {"candidates_without_scan", sum.candidates_without_scan},
                                   {"cube", D}};
    write_file_atomically(meta, info.dump(1) + "\n");
    return sum;
}

}  // namespace nodulecad
