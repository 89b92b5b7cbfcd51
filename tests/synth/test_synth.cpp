#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/core/math.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/io/tables.hpp"
#include "nodulecad/synth/cohort.hpp"
#include "nodulecad/synth/manifest.hpp"
#include "synth/cohort_fixture.hpp"
#include "nodulecad/synth/render.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {


// Rendered small-preset scans shared by the tests (rendering is the slow part).
const std::vector<std::pair<ScanSpec, RenderedScan>>& small_scans() {
    static const auto scans = [] {
        std::vector<std::pair<ScanSpec, RenderedScan>> out;
        for (int n = 0; n < 10; ++n) {
            ScanSpec s = draw_scan_spec(Preset::Small, 42, n, n % 3 == 0);
            RenderedScan r = render_scan(s, 2);
            out.emplace_back(std::move(s), std::move(r));
        }
        return out;
    }();
    return scans;
}

using test::small_cohort;

std::array<std::int64_t, 3> nearest_voxel(const Geometry& g, const Vec3& w) {
    const Vec3 idx = world_to_index(g, w);
    return {std::llround(idx[0]), std::llround(idx[1]), std::llround(idx[2])};
}

TEST(Synth, SameOutputForAnyThreadCount) {
    const ScanSpec s = draw_scan_spec(Preset::Small, 7, 3, true);
    const RenderedScan a = render_scan(s, 1), b = render_scan(s, 2), c = render_scan(s, 5);
    EXPECT_EQ(a.scan.voxels, b.scan.voxels);
    EXPECT_EQ(a.scan.voxels, c.scan.voxels);
    EXPECT_EQ(a.lungs.voxels, c.lungs.voxels);
    EXPECT_EQ(a.nodules.voxels, c.nodules.voxels);
    ASSERT_EQ(a.annotations.size(), c.annotations.size());
    for (std::size_t n = 0; n < a.annotations.size(); ++n) EXPECT_EQ(a.annotations[n].world, c.annotations[n].world);
    // A different seed gives a different scan.
    EXPECT_NE(render_scan(draw_scan_spec(Preset::Small, 8, 3, true), 2).scan.voxels, a.scan.voxels);
}

// Every file under `a` has a byte-identical twin at the same place under `b`; returns how many were compared.
int expect_same_files(const std::string& a, const std::string& b) {
    int files = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(a)) {
        if (!e.is_regular_file()) continue;
        ++files;
        const auto rel = std::filesystem::relative(e.path(), a);
        EXPECT_EQ(read_file(e.path().string()), read_file((std::filesystem::path(b) / rel).string())) << rel;
    }
    return files;
}

TEST(Synth, CohortFilesAreByteIdenticalAcrossThreadCounts) {
    test::TempDir dir;
    const CohortSummary s1 = write_cohort(small_cohort(dir.path("one"), 3, 11, 0.34, 1));
    write_cohort(small_cohort(dir.path("two"), 3, 11, 0.34, 2));
    EXPECT_EQ(s1.scans, 3);
    EXPECT_EQ(s1.flipped, 1);
    EXPECT_EQ(expect_same_files(dir.path("one"), dir.path("two")), 3 * 6 + 4);  // per scan: mhd+raw, lungs mhd+raw, nodules mhd+raw; 3 CSVs and the manifest
}

// Sharded (issue 18): shards 1/2 then 0/2 into one folder give one run's files byte for byte (plus each scan's rows
// beside its truth); the tables come with the shard that completes the cohort.
TEST(Synth, ShardsWriteTheCohortOneRunWrites) {
    test::TempDir dir;
    write_cohort(small_cohort(dir.path("one"), 3, 11, 0.34, 2));
    for (const int k : {1, 0}) {
        CohortOptions o = small_cohort(dir.path("shards"), 3, 11, 0.34, 2);
        o.shard = {k, 2};
        const CohortSummary s = write_cohort(o);
        EXPECT_EQ(s.scans, k == 0 ? 2 : 1);  // scans 0 and 2, or 1
        EXPECT_EQ(s.tables, k == 0);
        EXPECT_EQ(s.pending, k == 0 ? 0 : 2);
        EXPECT_EQ(std::filesystem::exists(dir.path("shards/annotations.csv")), k == 0);
    }
    EXPECT_EQ(expect_same_files(dir.path("one"), dir.path("shards")), 3 * 6 + 4);
    int rows = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path("shards/truth"))) rows += e.path().string().find(".synth.json") != std::string::npos;
    EXPECT_EQ(rows, 3);
}

TEST(Synth, CohortLayoutMatchesLuna16) {
    test::TempDir dir;
    const CohortSummary sum = write_cohort(small_cohort(dir.dir(), 4, 5, 0.5, 2));
    const auto uids = read_seriesuids(dir.path("seriesuids.csv"));
    ASSERT_EQ(uids.size(), 4u);
    EXPECT_EQ(std::set<std::string>(uids.begin(), uids.end()).size(), 4u);
    for (std::size_t n = 0; n < uids.size(); ++n) {
        EXPECT_EQ(uids[n].rfind("1.3.6.1.4.1.14519.5.2.1.6279.6001.", 0), 0u);
        EXPECT_EQ(uids[n].size(), 34u + 30u);
        const std::string scan = dir.path("subset" + std::to_string(n % 10) + "/" + uids[n] + ".mhd");
        MetaImageHeader h;
        const auto vol = read_metaimage(scan, {}, &h);
        EXPECT_EQ(h.element_type, ElementType::Int16);
        EXPECT_FALSE(h.compressed);
        const auto lungs = read_metaimage(dir.path("truth/" + uids[n] + "_lungs.mhd"), {}, &h);
        EXPECT_EQ(h.element_type, ElementType::UInt8);
        EXPECT_TRUE(h.compressed);  // the truth masks, not the scans, are zlib-compressed (.zraw)
        EXPECT_TRUE(std::filesystem::exists(dir.path("truth/" + uids[n] + "_lungs.zraw")));
        EXPECT_EQ(geometry_of(lungs), geometry_of(vol));
    }
    const auto ann = read_annotations(dir.path("annotations.csv"));
    const auto exc = read_annotations(dir.path("annotations_excluded.csv"));
    EXPECT_EQ(static_cast<int>(ann.size()), sum.nodules);
    EXPECT_EQ(static_cast<int>(exc.size()), sum.excluded);
    for (const auto& a : ann) EXPECT_GE(a.diameter_mm, 3.0);
    for (const auto& e : exc) EXPECT_TRUE(e.diameter_mm == -1 || (e.diameter_mm > 0 && e.diameter_mm < 3.25));
    const auto manifest = nlohmann::json::parse(read_file(dir.path("manifest.json")));
    EXPECT_EQ(manifest["preset"], "small");
    ASSERT_EQ(manifest["scan_list"].size(), 4u);
    EXPECT_EQ(manifest["scan_list"][0]["uid"], uids[0]);
    EXPECT_EQ(manifest["scan_list"][0]["preset"], "small");
    EXPECT_EQ(manifest["full_fraction"], 0.0);
    EXPECT_TRUE(manifest["scan_list"][0].contains("noise_sigma"));
    EXPECT_TRUE(manifest["scan_list"][0]["anatomy"].contains("diaphragm_dome_heights"));
    // Read back for the evaluation: one manifest nodule per annotation, at its centre, of a listed kind.
    EXPECT_EQ(manifest_beside(dir.path("annotations.csv")), dir.path("manifest.json"));
    const auto nodules = read_manifest_nodules(dir.path("manifest.json"));
    ASSERT_EQ(nodules.size(), ann.size());
    const std::vector<long> match = match_manifest(ann, nodules);
    std::set<long> seen;
    for (std::size_t i = 0; i < ann.size(); ++i) {
        ASSERT_GE(match[i], 0) << i;
        const ManifestNodule& n = nodules[static_cast<std::size_t>(match[i])];
        EXPECT_EQ(n.seriesuid, ann[i].seriesuid);
        EXPECT_DOUBLE_EQ(n.diameter_mm, ann[i].diameter_mm);
        EXPECT_TRUE(n.kind == "solid" || n.kind == "part-solid" || n.kind == "ground-glass") << n.kind;
        seen.insert(match[i]);
    }
    EXPECT_EQ(seen.size(), ann.size());
}

TEST(Synth, ManifestReaderRefusesOtherJson) {
    test::TempDir dir;
    write_file_atomically(dir.path("m.json"), "{\"generator\": \"something else\"}");
    EXPECT_THROW(read_manifest_nodules(dir.path("m.json")), Error);
    write_file_atomically(dir.path("m.json"), "{\"generator\": \"nodulecad synth\", \"scan_list\": [{\"uid\": \"a\", \"findings\": [{\"list\": \"annotations\"}]}]}");
    EXPECT_THROW(read_manifest_nodules(dir.path("m.json")), Error);
    EXPECT_EQ(manifest_beside(dir.path("annotations.csv")), "");
    ManifestNodule n;
    EXPECT_EQ(n.location(), "isolated");
    n.juxtavascular = true;
    EXPECT_EQ(n.location(), "juxtavascular");
    n.juxtapleural = true;
    EXPECT_EQ(n.location(), "juxtapleural");
}

TEST(Synth, EveryAnnotationSitsInsideItsLabelAndTheLungs) {
    int nodules = 0;
    for (const auto& [spec, r] : small_scans()) {
        for (const auto& a : r.annotations) {
            ++nodules;
            const auto v = nearest_voxel(spec.geometry, a.world);
            ASSERT_TRUE(v[0] >= 0 && v[1] >= 0 && v[2] >= 0 && v[0] < spec.geometry.size[0] &&
                        v[1] < spec.geometry.size[1] && v[2] < spec.geometry.size[2]);
            EXPECT_EQ(r.nodules.at(v[0], v[1], v[2]), a.label) << spec.uid;
            EXPECT_EQ(r.lungs.at(v[0], v[1], v[2]), 1) << spec.uid;
        }
    }
    EXPECT_GE(nodules, 5);
}

TEST(Synth, AnnotatedDiameterIsTheLabelsEquivalentDiameter) {
    for (const auto& [spec, r] : small_scans()) {
        std::map<int, std::int64_t> count;
        for (auto v : r.nodules.voxels)
            if (v) ++count[v];
        EXPECT_EQ(count.size(), r.annotations.size());
        const double voxel = spec.geometry.spacing[0] * spec.geometry.spacing[1] * spec.geometry.spacing[2];
        for (const auto& a : r.annotations) {
            const double eq = std::cbrt(6 * static_cast<double>(count[a.label]) * voxel / kPi);
            EXPECT_NEAR(a.diameter, eq, 0.1 * eq);
        }
    }
}

TEST(Synth, RenderedNodulesMatchTheirDesignAtDemoResolution) {
    int checked = 0;
    for (int n = 0; n < 12 && checked < 4; ++n) {
        const ScanSpec s = draw_scan_spec(Preset::Demo, 99, n, false);
        bool big = false;
        for (const auto& f : s.findings) big |= f.annotated() && f.diameter >= 8;
        if (!big) continue;
        const RenderedScan r = render_scan(s, 2);
        for (const auto& a : r.annotations) {
            const Finding& f = s.findings[static_cast<std::size_t>(a.finding)];
            if (f.diameter < 8) continue;
            ++checked;
            EXPECT_NEAR(a.diameter, f.diameter, 0.15 * f.diameter);
            for (int ax = 0; ax < 3; ++ax) EXPECT_NEAR(a.world[ax], f.centre[ax], 0.15 * f.diameter);
        }
    }
    EXPECT_GE(checked, 2);
}

TEST(Synth, NodulesAreBrighterThanTheParenchyma) {
    for (const auto& [spec, r] : small_scans()) {
        // Parenchyma level: the median of lung voxels outside nodules (robust to the vessels).
        std::vector<std::int16_t> lung;
        std::map<int, std::pair<double, std::int64_t>> nod;
        for (std::size_t n = 0; n < r.scan.voxels.size(); ++n) {
            if (r.nodules.voxels[n]) {
                auto& p = nod[r.nodules.voxels[n]];
                p.first += r.scan.voxels[n];
                ++p.second;
            } else if (r.lungs.voxels[n]) {
                lung.push_back(r.scan.voxels[n]);
            }
        }
        ASSERT_FALSE(lung.empty());
        std::nth_element(lung.begin(), lung.begin() + static_cast<long>(lung.size() / 2), lung.end());
        const double parenchyma = lung[lung.size() / 2];
        EXPECT_NEAR(parenchyma, spec.anatomy.lung_hu, 40) << spec.uid;
        for (const auto& [label, p] : nod)
            EXPECT_GT(p.first / static_cast<double>(p.second), parenchyma + 100) << spec.uid << " label " << label;
    }
}

TEST(Synth, AnatomyIsPresentWithRealisticIntensities) {
    for (const auto& [spec, r] : small_scans()) {
        const Anatomy& a = spec.anatomy;
        const Geometry& g = spec.geometry;
        const auto hu_at = [&](const Vec3& w) {
            const auto v = nearest_voxel(g, w);
            return static_cast<double>(r.scan.at(v[0], v[1], v[2]));
        };
        const double tol = 5 * spec.noise_sigma;
        const double z_mid = (a.z_lo + a.z_hi) / 2;
        // Air in front of the body, soft tissue inside it, padding outside the reconstruction circle.
        EXPECT_NEAR(hu_at({a.cx, a.cy - a.ay - 12, z_mid}), -1000, tol) << spec.uid;
        EXPECT_EQ(r.scan.at(0, 0, 0), static_cast<std::int16_t>(spec.padding_hu));
        EXPECT_TRUE(spec.padding_hu == -2000 || spec.padding_hu == -3024);
        // Trachea above the carina: air, outside the lung mask.
        const auto t = nearest_voxel(g, {a.trachea_x, a.trachea_y, a.carina_z + 30});
        EXPECT_LT(r.scan.at(t[0], t[1], t[2]), -700);
        EXPECT_EQ(r.lungs.at(t[0], t[1], t[2]), 0);
        // Bone: the middle of the rib segments is bright.
        double rib = 0;
        int ribs = 0;
        for (std::size_t n = 4; n < spec.ribs.size(); n += 14) {
            const Capsule& c = spec.ribs[n];
            rib += hu_at({(c.p0[0] + c.p1[0]) / 2, (c.p0[1] + c.p1[1]) / 2, (c.p0[2] + c.p1[2]) / 2});
            ++ribs;
        }
        EXPECT_GT(rib / ribs, 150) << spec.uid;
        // Lung volume of an adult (litres), and vessels inside it: voxels well above parenchyma, not nodules.
        std::int64_t lung = 0, dense = 0;
        for (std::size_t n = 0; n < r.lungs.voxels.size(); ++n)
            if (r.lungs.voxels[n] && !r.nodules.voxels[n]) {
                ++lung;
                dense += r.scan.voxels[n] > -500 + tol ? 1 : 0;
            }
        const double litres = static_cast<double>(lung) * g.spacing[0] * g.spacing[1] * g.spacing[2] / 1e6;
        EXPECT_GT(litres, 1.5) << spec.uid;
        EXPECT_LT(litres, 9.0) << spec.uid;
        EXPECT_GT(static_cast<double>(dense) / static_cast<double>(lung), 0.003) << spec.uid;
        EXPECT_GT(spec.vessels.segments.size(), 1000u);
    }
}

TEST(Synth, VesselsReachEveryPartOfBothLungs) {
    // Vessel-like voxels (well above parenchyma, not nodules) in each lung's lower, middle and upper third.
    const ScanSpec s = draw_scan_spec(Preset::Demo, 2026, 3, false);
    const RenderedScan r = render_scan(s, 2);
    const Anatomy& a = s.anatomy;
    std::int64_t lung[2][3] = {}, dense[2][3] = {};
    const IndexWorldTransform t(s.geometry);
    const auto& g = s.geometry;
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 0; i < g.size[0]; ++i) {
                if (!r.lungs.at(i, j, k) || r.nodules.at(i, j, k)) continue;
                const Vec3 w = t.to_world({double(i), double(j), double(k)});
                const int side = w[0] < a.cx ? 0 : 1;
                const int third = std::clamp(static_cast<int>(3 * (w[2] - a.z_lo) / (a.z_hi - a.z_lo)), 0, 2);
                ++lung[side][third];
                dense[side][third] += r.scan.at(i, j, k) > -500 ? 1 : 0;
            }
    // Trees that only grow around the hila leave the bases (the left above all, behind the heart) empty: every
    // region must hold at least 2 % vessel voxels and at least a fifth of the density of the richest region.
    double lo = 1, hi = 0;
    for (int side = 0; side < 2; ++side)
        for (int third = 0; third < 3; ++third) {
            ASSERT_GT(lung[side][third], 0);
            const double d = static_cast<double>(dense[side][third]) / static_cast<double>(lung[side][third]);
            EXPECT_GT(d, 0.02) << "side " << side << " third " << third;
            lo = std::min(lo, d);
            hi = std::max(hi, d);
        }
    EXPECT_GT(lo / hi, 0.2);
}

TEST(Synth, FlippedScanIsTheExactMirrorOfItsTwin) {
    const ScanSpec plain = draw_scan_spec(Preset::Small, 21, 4, false);
    const ScanSpec flipped = draw_scan_spec(Preset::Small, 21, 4, true);
    EXPECT_EQ(flipped.geometry.direction, (Mat3{-1, 0, 0, 0, -1, 0, 0, 0, 1}));
    // The same world field of view: voxel (0,0,k) of the flipped scan is voxel (nx-1, ny-1, k) of the plain one.
    const Vec3 w0 = index_to_world(flipped.geometry, {0, 0, 0});
    const Vec3 w1 = index_to_world(plain.geometry, {static_cast<double>(plain.geometry.size[0] - 1), static_cast<double>(plain.geometry.size[1] - 1), 0});
    for (int a = 0; a < 3; ++a) EXPECT_NEAR(w0[a], w1[a], 1e-9);
    const RenderedScan a = render_scan(plain, 2), b = render_scan(flipped, 2);
    const auto& g = plain.geometry;
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 0; i < g.size[0]; ++i) {
                const std::int64_t mi = g.size[0] - 1 - i, mj = g.size[1] - 1 - j;
                ASSERT_EQ(b.scan.at(i, j, k), a.scan.at(mi, mj, k));
                ASSERT_EQ(b.lungs.at(i, j, k), a.lungs.at(mi, mj, k));
                ASSERT_EQ(b.nodules.at(i, j, k), a.nodules.at(mi, mj, k));
            }
    ASSERT_EQ(a.annotations.size(), b.annotations.size());
    for (std::size_t n = 0; n < a.annotations.size(); ++n)
        for (int ax = 0; ax < 3; ++ax) EXPECT_NEAR(a.annotations[n].world[ax], b.annotations[n].world[ax], 1e-6);
}

TEST(Synth, CohortStatisticsFollowLuna16) {
    int scans = 0, empty = 0, nodules = 0, pleural = 0, vascular = 0;
    std::map<FindingKind, int> kinds;
    double diameter_sum = 0;
    for (int n = 0; n < 160; ++n) {
        const ScanSpec s = draw_scan_spec(Preset::Small, 1234, n, false);
        ++scans;
        int here = 0;
        for (const auto& f : s.findings) {
            ++kinds[f.kind];
            if (!f.annotated()) continue;
            ++here;
            diameter_sum += f.diameter;
            pleural += f.juxtapleural;
            vascular += f.juxtavascular;
            EXPECT_GE(f.diameter, 3.25);
            EXPECT_LE(f.diameter, 32.27);
            EXPECT_LT(lungs_distance(s.anatomy, f.centre), 0);  // every nodule centre lies in a lung
        }
        EXPECT_LE(here, 6);
        empty += here == 0;
        nodules += here;
    }
    EXPECT_NEAR(static_cast<double>(empty) / scans, 0.26, 0.09);
    EXPECT_NEAR(static_cast<double>(nodules) / scans, 1.34, 0.35);  // LUNA16: 1,186 / 888
    EXPECT_NEAR(diameter_sum / nodules, 8.3, 1.2);
    EXPECT_GE(static_cast<double>(pleural) / nodules, 0.2);
    EXPECT_GT(vascular, 0);
    EXPECT_GT(kinds[FindingKind::PartSolid], 0);
    EXPECT_GT(kinds[FindingKind::GroundGlass], 0);
    EXPECT_GT(kinds[FindingKind::SmallNodule], 0);
    EXPECT_GT(kinds[FindingKind::NonNodule], 0);
}

TEST(Synth, TouchesVesselMeansWithinHalfAMillimetreOfAVesselOfAtLeast16mm) {
    VesselTree v;
    v.segments.push_back({{-20, 0, 0}, {20, 0, 0}, 1.0, 1.0});  // 2 mm across, along x
    // A 4-mm nodule above it: surface gaps of 0.3 and 1.0 mm; overlapping it; beyond its end.
    EXPECT_TRUE(touches_vessel(v, {0, 1 + 2 + 0.3, 0}, 4));
    EXPECT_FALSE(touches_vessel(v, {0, 1 + 2 + 1.0, 0}, 4));
    EXPECT_TRUE(touches_vessel(v, {5, 0, 1.5}, 4));
    EXPECT_FALSE(touches_vessel(v, {25, 0, 0}, 4));
    EXPECT_TRUE(touches_vessel(v, {23.2, 0, 0}, 4));
    v.segments[0].r0 = v.segments[0].r1 = 0.5;  // a 1-mm twig does not count, even through the nodule
    EXPECT_FALSE(touches_vessel(v, {0, 0, 0}, 4));
}

TEST(Synth, EveryNoduleLabelledJuxtavascularTouchesAVesselAndNoOtherDoes) {
    // Until 2026-12-03 only nodules placed against a vessel were labelled so; one drawn at a free interior point
    // could land on a vessel (or inside a hilar one) and still read "isolated" in the manifest.
    int vascular = 0, annotated = 0;
    for (const Preset preset : {Preset::Small, Preset::Full})
        for (int n = 0; n < (preset == Preset::Small ? 160 : 12); ++n) {
            const ScanSpec s = draw_scan_spec(preset, 77, n, false);
            for (const auto& f : s.findings) {
                if (!f.annotated()) continue;
                ++annotated;
                vascular += f.juxtavascular;
                EXPECT_EQ(f.juxtavascular, touches_vessel(s.vessels, f.centre, f.diameter)) << "scan " << n;
            }
        }
    EXPECT_GT(vascular, annotated / 10);
    EXPECT_LT(vascular, annotated);
}

TEST(Synth, ExposedFractionIsTheShareOfANoduleOutsideEveryVessel) {
    Finding f;
    f.diameter = 5;
    VesselTree v;
    EXPECT_DOUBLE_EQ(exposed_fraction(v, f), 1.0);  // no vessels
    v.segments.push_back({{-50, 0, 0}, {50, 0, 0}, 4.0, 4.0});  // 8 mm across, along x
    f.centre = {0, 0, 0};
    EXPECT_DOUBLE_EQ(exposed_fraction(v, f), 0.0);  // inside it
    f.centre = {0, 4 + 2.5 + 0.5, 0};
    EXPECT_DOUBLE_EQ(exposed_fraction(v, f), 1.0);  // beside it
    // A nearly flat wall through the centre: half inside (the lattice's middle plane lies on the wall and counts
    // as outside, hence 0.54).
    v.segments[0].r0 = v.segments[0].r1 = 200;
    f.centre = {0, 200, 0};
    EXPECT_NEAR(exposed_fraction(v, f), 0.5, 0.05);
    f.centre = {0, 200 - 1.25, 0};  // a quarter of the diameter inside: 5/32 of a sphere's volume outside
    EXPECT_NEAR(exposed_fraction(v, f), 5.0 / 32, 0.03);
    // Two twigs of 1 mm crossing a 10-mm nodule take a few per cent of it.
    v.segments = {{{-20, 0, 0}, {20, 0, 0}, 0.5, 0.5}, {{0, -20, 0}, {0, 20, 0}, 0.5, 0.5}};
    f.centre = {0, 0, 0};
    f.diameter = 10;
    EXPECT_GT(exposed_fraction(v, f), 0.95);
    EXPECT_LT(exposed_fraction(v, f), 1.0);
}

TEST(Synth, NodulesMostlyInsideVesselsAreExcludedFindingsNotAnnotations) {
    // Until 2026-12-03 a nodule drawn at a free interior point could fall inside a hilar vessel of its own density
    // and be annotated although the scan shows only the vessel (3 of 64 in a 40-scan full cohort).
    int hidden = 0, nodules = 0;
    const ScanSpec* example = nullptr;
    std::vector<ScanSpec> specs;
    for (int n = 0; n < 160; ++n) specs.push_back(draw_scan_spec(Preset::Small, 77, n, false));
    for (int n = 0; n < 12; ++n) specs.push_back(draw_scan_spec(Preset::Full, 77, n, false));
    for (const ScanSpec& s : specs)
        for (const auto& f : s.findings) {
            if (!f.is_nodule()) continue;
            ++nodules;
            EXPECT_EQ(f.hidden, exposed_fraction(s.vessels, f) < kMinExposedFraction) << s.uid;
            EXPECT_EQ(f.annotated(), !f.hidden);
            hidden += f.hidden;
            if (f.hidden && !example && s.preset == Preset::Small) example = &s;
        }
    EXPECT_GT(hidden, 0);
    EXPECT_LT(hidden, nodules / 10);
    ASSERT_NE(example, nullptr);
    // Rendered: drawn (the scan is what it was), listed as excluded with its diameter, no label in the truth.
    const RenderedScan r = render_scan(*example, 2);
    for (std::size_t n = 0; n < example->findings.size(); ++n) {
        const Finding& f = example->findings[n];
        if (!f.hidden) continue;
        const auto in = [&](const std::vector<RenderedFinding>& list) {
            return std::any_of(list.begin(), list.end(), [&](const RenderedFinding& x) { return x.finding == static_cast<int>(n); });
        };
        EXPECT_FALSE(in(r.annotations));
        ASSERT_TRUE(in(r.excluded));
        for (const auto& x : r.excluded) {
            if (x.finding == static_cast<int>(n)) {
                EXPECT_DOUBLE_EQ(x.diameter, f.diameter);
            }
        }
        const auto v = nearest_voxel(example->geometry, f.centre);
        EXPECT_EQ(r.nodules.at(v[0], v[1], v[2]), 0);
        if (f.kind == FindingKind::Solid) {
            EXPECT_GT(r.scan.at(v[0], v[1], v[2]), -300);  // the vessel and the nodule inside it
        }
    }
}

TEST(Synth, DiameterDistributionFitsLuna16) {
    Rng rng(3);
    double sum = 0;
    std::vector<double> d;
    for (int n = 0; n < 20000; ++n) d.push_back(draw_nodule_diameter(rng)), sum += d.back();
    std::sort(d.begin(), d.end());
    EXPECT_NEAR(sum / 20000, 8.1, 0.3);                // LUNA16 mean 8.3
    EXPECT_NEAR(d[10000], 6.8, 0.4);                   // LUNA16 median 6.4
    EXPECT_GE(d.front(), 3.25);
    EXPECT_LE(d.back(), 32.27);
}

TEST(Synth, CohortBadInputsGiveClearErrors) {
    test::TempDir dir;
    test::write_text(dir.path("file"), "x");
    test::expect_error([&] { write_cohort(small_cohort(dir.path("file/cohort"), 1, 1, 0, 1)); }, {"file/cohort", "cannot create folder"});
    test::expect_error([&] { write_cohort(small_cohort(dir.path("c"), 0, 1, 0, 1)); }, {"scans must be > 0, got 0"});
    test::expect_error([&] { write_cohort(small_cohort(dir.path("c"), 1, 1, 1.5, 1)); }, {"flip_fraction must be between 0 and 1, got 1.5"});
    CohortOptions mixed = small_cohort(dir.path("c"), 1, 1, 0, 1);
    mixed.full_fraction = -0.5;
    test::expect_error([&] { write_cohort(mixed); }, {"full_fraction must be between 0 and 1, got -0.5"});
    EXPECT_FALSE(std::filesystem::exists(dir.path("c")));
}

TEST(Synth, MixedCohortDrawsTheChosenShareAtTheFullPreset) {
    CohortOptions o;
    o.scans = 10;
    o.seed = 5;
    o.preset = Preset::Demo;
    o.full_fraction = 0.3;
    o.flip_fraction = 0.5;
    const std::vector<ScanSpec> specs = plan_cohort(o);
    const std::vector<bool> full = choose_full(10, 0.3, 5);
    ASSERT_EQ(specs.size(), 10u);
    EXPECT_EQ(std::count(full.begin(), full.end(), true), 3);
    int n_full = 0;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        const ScanSpec& s = specs[i];
        EXPECT_EQ(s.index, static_cast<int>(i));
        EXPECT_EQ(s.preset, full[i] ? Preset::Full : Preset::Demo) << i;
        // The geometry follows the scan's own preset: 512 px at 0.5-1 mm, or 256 px and 2.5-mm slices.
        EXPECT_EQ(s.geometry.size[0], full[i] ? 512 : 256) << i;
        if (full[i]) {
            EXPECT_LT(s.geometry.spacing[0], 1.0);
        } else {
            EXPECT_EQ(s.geometry.spacing[2], 2.5);
        }
        n_full += full[i] ? 1 : 0;
    }
    EXPECT_EQ(n_full, 3);
    // Flips are chosen independently of the preset (same seed, another salt), and unchanged by mixing.
    const std::vector<bool> flipped = choose_flipped(10, 0.5, 5);
    EXPECT_NE(flipped, choose_full(10, 0.5, 5));
    for (std::size_t i = 0; i < specs.size(); ++i) EXPECT_EQ(specs[i].flipped, flipped[i]);
    // Each scan is the one the same seed and index give in a one-preset cohort: same uid, geometry and findings.
    o.full_fraction = 0;
    const std::vector<ScanSpec> plain = plan_cohort(o);
    o.full_fraction = 1;
    const std::vector<ScanSpec> all_full = plan_cohort(o);
    for (std::size_t i = 0; i < specs.size(); ++i) {
        EXPECT_EQ(plain[i].preset, Preset::Demo);
        EXPECT_EQ(all_full[i].preset, Preset::Full);
        const ScanSpec& same = full[i] ? all_full[i] : plain[i];
        EXPECT_EQ(specs[i].uid, same.uid);
        EXPECT_EQ(specs[i].geometry, same.geometry) << i;
        ASSERT_EQ(specs[i].findings.size(), same.findings.size()) << i;
        for (std::size_t f = 0; f < same.findings.size(); ++f) EXPECT_EQ(specs[i].findings[f].centre, same.findings[f].centre);
        // Demo and full scans of one index share the anatomy and the findings; only the sampling differs.
        ASSERT_EQ(plain[i].findings.size(), all_full[i].findings.size()) << i;
        for (std::size_t f = 0; f < plain[i].findings.size(); ++f) EXPECT_EQ(plain[i].findings[f].centre, all_full[i].findings[f].centre);
    }
}

TEST(Synth, FlipChoiceAndUids) {
    const auto f = choose_flipped(10, 0.1, 4);
    EXPECT_EQ(std::count(f.begin(), f.end(), true), 1);
    const auto all = choose_flipped(7, 1.0, 4);
    EXPECT_EQ(std::count(all.begin(), all.end(), true), 7);
    EXPECT_EQ(synthetic_uid(1, 2), synthetic_uid(1, 2));
    EXPECT_NE(synthetic_uid(1, 2), synthetic_uid(1, 3));
    EXPECT_NE(synthetic_uid(1, 2), synthetic_uid(2, 2));
}

}  // namespace
}  // namespace nodulecad
