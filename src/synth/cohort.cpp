#include "nodulecad/synth/cohort.hpp"

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/core/prefetch.hpp"
#include "nodulecad/core/progress.hpp"
#include "nodulecad/io/dicom.hpp"
#include "nodulecad/io/image_file.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/io/tables.hpp"
#include "nodulecad/synth/render.hpp"

namespace nodulecad {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {

// round(fraction * scans) scans, the first ones of a seeded shuffle (`salt` keeps different choices independent).
std::vector<bool> choose_share(int scans, double fraction, std::uint64_t seed, std::uint64_t salt) {
    std::vector<int> order(static_cast<std::size_t>(scans));
    for (int i = 0; i < scans; ++i) order[static_cast<std::size_t>(i)] = i;
    Rng rng = Rng::derive(seed, {salt});
    for (int i = scans - 1; i > 0; --i) std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(rng.integer(0, i))]);
    const auto count = static_cast<int>(std::lround(std::clamp(fraction, 0.0, 1.0) * scans));
    std::vector<bool> chosen(static_cast<std::size_t>(scans), false);
    for (int i = 0; i < count; ++i) chosen[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])] = true;
    return chosen;
}

}  // namespace

std::vector<bool> choose_flipped(int scans, double fraction, std::uint64_t seed) { return choose_share(scans, fraction, seed, 0xF11Bu); }

std::vector<bool> choose_full(int scans, double fraction, std::uint64_t seed) { return choose_share(scans, fraction, seed, 0xF0117u); }

namespace {

// Truth masks zlib-compressed at level 1: a thin-slice scan's two uint8 masks are 240 MB raw and under 2 MB so
// (the demo cohort's truth folder: 3.9 GB -> about 0.1 GB; writing less made synth faster, not slower). The scans
// themselves stay .raw, as LUNA16 ships them.
const WriteOptions kTruthWrite{true, 1};

ojson vec(const Vec3& v) { return ojson::array({v[0], v[1], v[2]}); }

ojson anatomy_json(const Anatomy& a) {
    return {{"body_centre_xy", {a.cx, a.cy}}, {"body_semi_axes", {a.ax, a.ay}}, {"fat_mm", a.fat}, {"wall_mm", a.wall},
            {"lung_z_range", {a.z_lo, a.z_hi}}, {"mediastinum_half_width", a.mediastinum},
            {"diaphragm_dome_heights", {a.dome[0], a.dome[1]}}, {"heart_centre", vec(a.heart)}, {"heart_semi_axes", vec(a.heart_r)},
            {"aorta", {a.aorta_x, a.aorta_y, a.aorta_r, a.aorta_top}},
            {"spine", {a.spine_x, a.spine_y, a.spine_r, a.disc_period, a.disc_phase}},
            {"trachea", {a.trachea_x, a.trachea_y, a.trachea_r}}, {"carina_z", a.carina_z},
            {"couch", {a.couch_y, a.couch_thickness, a.couch_curvature, a.couch_half_width}},
            {"hu", {{"air", a.air_hu}, {"fat", a.fat_hu}, {"muscle", a.muscle_hu}, {"lung", a.lung_hu},
                    {"lung_gradient", a.lung_gradient_hu}, {"heart", a.heart_hu}, {"blood", a.blood_hu},
                    {"vessel", a.vessel_hu}, {"vertebra", a.vertebra_hu}, {"disc", a.disc_hu},
                    {"cortical_bone", a.cortical_hu}, {"marrow", a.marrow_hu}, {"couch", a.couch_hu}}}};
}

ojson scan_json(const ScanSpec& s, const RenderedScan& r) {
    ojson findings = ojson::array();
    const auto rendered = [&](int n) -> const RenderedFinding* {
        for (const auto* list : {&r.annotations, &r.excluded})
            for (const auto& f : *list)
                if (f.finding == n) return &f;
        return nullptr;
    };
    for (std::size_t n = 0; n < s.findings.size(); ++n) {
        const Finding& f = s.findings[n];
        const RenderedFinding* rf = rendered(static_cast<int>(n));
        ojson j = {{"kind", finding_kind_name(f.kind)}, {"designed_centre", vec(f.centre)}, {"designed_diameter", f.diameter},
                   {"axes", vec(f.axes)}, {"rotation", std::vector<double>(f.rotation.begin(), f.rotation.end())},
                   {"lobulation", f.lobulation}, {"hu", f.hu}};
        if (f.core_fraction > 0) {
            j["core_hu"] = f.core_hu;
            j["core_fraction"] = f.core_fraction;
        }
        j["juxtapleural"] = f.juxtapleural;
        j["juxtavascular"] = f.juxtavascular;
        if (f.hidden) j["hidden_in_vessels"] = true;  // drawn, but mostly inside vessels: an excluded finding
        if (rf) {
            j["list"] = rf->label ? "annotations" : "annotations_excluded";
            j["label"] = rf->label;
            j["annotated_centre"] = vec(rf->world);
            j["annotated_diameter"] = rf->diameter;
            j["label_voxels"] = rf->voxels;
        }
        findings.push_back(j);
    }
    const Geometry& g = s.geometry;
    return {{"uid", s.uid}, {"index", s.index}, {"subset", s.subset}, {"preset", preset_name(s.preset)}, {"scan_seed", s.scan_seed},
            {"size", {g.size[0], g.size[1], g.size[2]}}, {"spacing", vec(g.spacing)}, {"origin", vec(g.origin)},
            {"direction", std::vector<double>(g.direction.begin(), g.direction.end())}, {"flipped", s.flipped},
            {"slice_thickness", s.slice_thickness}, {"padding_hu", s.padding_hu}, {"noise_sigma", s.noise_sigma},
            {"correlated_noise_sigma", s.correlated_sigma}, {"anatomy", anatomy_json(s.anatomy)},
            {"vessel_segments", s.vessels.segments.size()}, {"rib_segments", s.ribs.size()}, {"findings", findings}};
}

// The scan in the cohort's format: MetaImage, NIfTI-1, or a DICOM series with the storage variants cohort.hpp lists.
void write_scan(const fs::path& subset, const ScanSpec& spec, const Volume<std::int16_t>& scan, ImageFormat format) {
    if (format != ImageFormat::Dicom) {
        write_image((subset / image_file_name(spec.uid, format)).string(), scan);
        return;
    }
    DicomWriteOptions d;
    d.series_uid = spec.uid;
    d.patient_id = "SYNTH-" + std::to_string(spec.index);
    d.unsigned_storage = spec.index % 2 == 1;
    d.reverse_file_order = spec.index % 3 == 0;
    d.slice_thickness = spec.slice_thickness;
    const fs::path folder = subset / spec.uid;
    std::error_code ec;
    fs::remove_all(folder, ec);  // a series from an earlier run would add files
    write_dicom_series(folder.string(), scan, d);
}

void make_dir(const fs::path& p) {
    std::error_code ec;
    fs::create_directories(p, ec);
    if (ec) fail(p.string(), "cannot create folder: " + ec.message());
}

}  // namespace

std::vector<ScanSpec> plan_cohort(const CohortOptions& opts) {
    require_positive("scans", opts.scans);
    require_between("flip_fraction", opts.flip_fraction, 0.0, 1.0);
    require_between("full_fraction", opts.full_fraction, 0.0, 1.0);
    const std::vector<bool> flipped = choose_flipped(opts.scans, opts.flip_fraction, opts.seed);
    const std::vector<bool> full = choose_full(opts.scans, opts.full_fraction, opts.seed);
    std::vector<ScanSpec> specs;
    specs.reserve(static_cast<std::size_t>(opts.scans));
    for (int n = 0; n < opts.scans; ++n) {
        const auto i = static_cast<std::size_t>(n);
        specs.push_back(draw_scan_spec(full[i] ? Preset::Full : opts.preset, opts.seed, n, flipped[i]));
    }
    return specs;
}

CohortSummary write_cohort(const CohortOptions& opts) {
    const std::vector<ScanSpec> specs = plan_cohort(opts);
    const fs::path root(opts.out_dir);
    make_dir(root / "truth");
    const auto rows_file = [&](const ScanSpec& spec) { return (root / "truth" / (spec.uid + ".synth.json")).string(); };

    CohortSummary summary;
    std::vector<Annotation> annotations, excluded;
    std::vector<std::string> uids;
    ojson scans = ojson::array();
    std::vector<std::size_t> mine;  // this shard's scans
    for (std::size_t n = 0; n < specs.size(); ++n)
        if (opts.shard.holds(n)) mine.push_back(n);
    Progress progress(opts.shard.all() ? "synth" : "synth shard " + opts.shard.describe(), static_cast<std::int64_t>(mine.size()), "scans");
    // The next scan renders on a thread of its own while this one is written (rendering keeps every thread busy,
    // writing mostly one: the two cores are 1.78 busy instead of 1.66 when the two ran in turn); the files are the
    // same, and at most two scans are held.
    OrderedPrefetcher<RenderedScan> rendered(mine.size(), 1, 1, [&](std::size_t k) { return render_scan(specs[mine[k]], opts.threads); });
    RenderedScan r;
    for (std::size_t k = 0; rendered.next(r); ++k) {
        const ScanSpec& spec = specs[mine[k]];
        const fs::path subset = root / ("subset" + std::to_string(spec.subset));
        make_dir(subset);
        write_scan(subset, spec, r.scan, opts.format);
        write_metaimage((root / "truth" / (spec.uid + "_lungs.mhd")).string(), r.lungs, kTruthWrite);
        write_metaimage((root / "truth" / (spec.uid + "_nodules.mhd")).string(), r.nodules, kTruthWrite);
        for (const auto& a : r.annotations) annotations.push_back({spec.uid, a.world, a.diameter});
        for (const auto& e : r.excluded) excluded.push_back({spec.uid, e.world, e.diameter});
        uids.push_back(spec.uid);
        scans.push_back(scan_json(spec, r));
        if (!opts.shard.all()) {
            // This scan's table rows, for whichever shard writes the tables.
            ojson rows = {{"annotations", ojson::array()}, {"excluded", ojson::array()}, {"scan", scans.back()}};
            for (const auto& a : r.annotations) rows["annotations"].push_back({a.world[0], a.world[1], a.world[2], a.diameter});
            for (const auto& e : r.excluded) rows["excluded"].push_back({e.world[0], e.world[1], e.world[2], e.diameter});
            write_file_atomically(rows_file(spec), rows.dump() + "\n");
        }
        summary.scans += 1;
        summary.flipped += spec.flipped ? 1 : 0;
        summary.nodules += static_cast<int>(r.annotations.size());
        summary.excluded += static_cast<int>(r.excluded.size());
        summary.voxels += spec.geometry.voxel_count();
        progress.advance();
    }
    progress.finish();
    if (!opts.shard.all()) {
        // The tables need every scan's rows: read back in generation order, as one run would have gathered them.
        std::error_code ec;
        for (const ScanSpec& spec : specs) summary.pending += fs::exists(rows_file(spec), ec) ? 0 : 1;
        if (summary.pending > 0) {
            summary.tables = false;
            return summary;
        }
        annotations.clear();
        excluded.clear();
        uids.clear();
        scans = ojson::array();
        for (const ScanSpec& spec : specs) {
            const std::string path = rows_file(spec);
            ojson rows;
            try {
                rows = ojson::parse(read_file(path));
                for (const auto& a : rows.at("annotations"))
                    annotations.push_back({spec.uid, {a.at(0).get<double>(), a.at(1).get<double>(), a.at(2).get<double>()}, a.at(3).get<double>()});
                for (const auto& e : rows.at("excluded"))
                    excluded.push_back({spec.uid, {e.at(0).get<double>(), e.at(1).get<double>(), e.at(2).get<double>()}, e.at(3).get<double>()});
                scans.push_back(rows.at("scan"));
            } catch (const nlohmann::json::exception& e) {
                fail(path, std::string("not a synth rows file (run the shard that wrote it again): ") + e.what());
            }
            uids.push_back(spec.uid);
        }
    }
    write_annotations((root / "annotations.csv").string(), annotations);
    write_annotations((root / "annotations_excluded.csv").string(), excluded);
    write_seriesuids((root / "seriesuids.csv").string(), uids);
    const ojson manifest = {{"generator", "nodulecad synth"}, {"model_version", kSynthModelVersion}, {"preset", preset_name(opts.preset)},
                            {"seed", opts.seed}, {"scans", opts.scans}, {"full_fraction", opts.full_fraction},
                            {"flip_fraction", opts.flip_fraction},
                            {"scan_list", scans}};
    write_file_atomically((root / "manifest.json").string(), manifest.dump(1) + "\n");
    return summary;
}

}  // namespace nodulecad
