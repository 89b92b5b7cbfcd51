// The 3D detector's view of a scan: the lungs' box on a millimetre grid, windowed; positions on it go to world mm
// on every direction matrix.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/geometry.hpp"
#include "nodulecad/preprocess/grid3d.hpp"
#include "preprocess/ball_scan.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

// A "lung" mask: the voxels within `radius` mm of `centre`.
Volume<std::uint8_t> mask_around(const Volume<std::int16_t>& scan, const Vec3& centre, double radius) {
    Volume<std::uint8_t> m(scan.geometry, 0);
    const IndexWorldTransform t(scan.geometry);
    const auto& n = scan.geometry.size;
    for (std::int64_t k = 0; k < n[2]; ++k)
        for (std::int64_t j = 0; j < n[1]; ++j)
            for (std::int64_t i = 0; i < n[0]; ++i) {
                const Vec3 w = t.to_world({static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)});
                if (std::hypot(w[0] - centre[0], w[1] - centre[1], w[2] - centre[2]) <= radius) m.voxels[m.offset(i, j, k)] = 1;
            }
    return m;
}

TEST(Grid3d, LungBoxFindsTheBallInWorldMillimetresOnEveryDirection) {
    const Vec3 ball{12.5, -31.0, 47.0};
    Grid3dOptions o;
    o.spacing_mm = 1.0;
    o.margin_mm = 4;
    for (const auto& [name, direction] : test::test_directions()) {
        SCOPED_TRACE(name);
        const auto scan = test::scan_with_ball(direction, ball);
        const auto lungs = mask_around(scan, ball, 8);
        const Volume<std::uint8_t> box = lung_box_on_grid(scan, lungs, o, 2);
        EXPECT_EQ(box.voxels, lung_box_on_grid(scan, lungs, o, 1).voxels);  // any thread count
        EXPECT_EQ(box.geometry.direction, scan.geometry.direction);
        EXPECT_EQ(box.geometry.spacing, (Vec3{1, 1, 1}));
        // The box spans the mask (16 mm) plus the margins, give or take a voxel per side at the mask's edge, not
        // the scan (45 x 39 x 47.5 mm).
        for (int a = 0; a < 3; ++a) {
            EXPECT_GE(box.geometry.size[static_cast<std::size_t>(a)], 16 + 2 * 4 - 2);
            EXPECT_LE(box.geometry.size[static_cast<std::size_t>(a)], 16 + 2 * 4 + 6);
        }
        // The brightest voxel is the one nearest the ball's centre, and goes to world within half a voxel's diagonal.
        const auto top = std::max_element(box.voxels.begin(), box.voxels.end()) - box.voxels.begin();
        const auto nx = box.geometry.size[0], ny = box.geometry.size[1];
        const Vec3 idx{static_cast<double>(top % nx), static_cast<double>((top / nx) % ny), static_cast<double>(top / (nx * ny))};
        const Vec3 w = index_to_world(box.geometry, idx);
        EXPECT_LT(std::hypot(w[0] - ball[0], w[1] - ball[1], w[2] - ball[2]), 0.87);
        // 40 HU at the centre, on the window [-1000, 400]: at most round(1040 / 1400 * 255) = 189; air is 0.
        EXPECT_LE(box.voxels[static_cast<std::size_t>(top)], 189);
        EXPECT_GE(box.voxels[static_cast<std::size_t>(top)], 160);
        EXPECT_EQ(box.voxels.front(), 0);
    }
}

// The mask on the box lies voxel on voxel with the box: a scan that is 400 HU inside the mask and -1000 HU outside
// gives a box (window -1000..400) equal to the mask on it, within rounding, on every direction matrix; both 0 far
// from the mask, 255 deep inside it.
TEST(Grid3d, TheLungMaskOnTheBoxLiesOnTheBoxsVoxels) {
    const Vec3 centre{12.5, -31.0, 47.0};
    Grid3dOptions o;
    o.spacing_mm = 1.5;
    o.margin_mm = 4;
    for (const auto& [name, direction] : test::test_directions()) {
        SCOPED_TRACE(name);
        auto scan = test::scan_with_ball(direction, centre);
        const auto lungs = mask_around(scan, centre, 9);
        for (std::size_t v = 0; v < scan.voxels.size(); ++v) scan.voxels[v] = lungs.voxels[v] ? 400 : -1000;
        const Volume<std::uint8_t> box = lung_box_on_grid(scan, lungs, o, 2);
        const Volume<std::uint8_t> mask = lungs_on_grid(lungs, box.geometry, 2);
        EXPECT_EQ(mask.geometry, box.geometry);
        EXPECT_EQ(mask.voxels, lungs_on_grid(lungs, box.geometry, 1).voxels);  // any thread count
        int inside = 0, off = 0;
        for (std::size_t v = 0; v < box.voxels.size(); ++v) {
            off += std::abs(static_cast<int>(box.voxels[v]) - static_cast<int>(mask.voxels[v])) > 1;
            inside += mask.voxels[v] == 255;
        }
        EXPECT_EQ(off, 0);
        EXPECT_GT(inside, 500);  // a 15-mm ball's core, 1.5-mm voxels
        // The box voxel nearest the centre is inside, the box's corner (the margin, 13 mm out) outside.
        const Vec3 c = world_to_index(box.geometry, centre);
        EXPECT_EQ(mask.voxels[mask.offset(std::llround(c[0]), std::llround(c[1]), std::llround(c[2]))], 255);
        EXPECT_EQ(mask.voxels.front(), 0);
    }
}

TEST(Grid3d, WithoutLungsTheWholeScanAndBadOptionsAreRefused) {
    const auto scan = test::scan_with_ball(identity3(), {0, 0, 0});
    Grid3dOptions o;
    o.spacing_mm = 2.5;
    const Volume<std::uint8_t> box = lung_box_on_grid(scan, Volume<std::uint8_t>(scan.geometry, 0), o);
    EXPECT_EQ(box.geometry.size, (std::array<std::int64_t, 3>{18, 16, 20}));  // floor(44.1 / 2.5) + 1, ...
    EXPECT_EQ(box.geometry.origin, scan.geometry.origin);
    o.spacing_mm = 0;
    EXPECT_THROW(lung_box_on_grid(scan, Volume<std::uint8_t>(scan.geometry, 0), o), OptionError);
    o = Grid3dOptions{};
    o.window_hi = o.window_lo;
    EXPECT_THROW(o.check(), OptionError);
    Geometry other = scan.geometry;
    other.size[2] = 3;
    EXPECT_THROW(lung_box_on_grid(scan, Volume<std::uint8_t>(other, 0), Grid3dOptions{}), Error);
}

// A 0.5-mm scan whose voxels alternate -400 / -600 HU in every direction (the finest detail a scan can hold), on
// a 2-mm grid: sampling at the centres keeps the pattern's extremes; cell-mean averages each 2-mm cell to -500 HU,
// what a 2-mm scanner would have measured.
TEST(Grid3d, CellMeanAveragesAFineScanToTheGridsResolution) {
    for (const auto& [name, direction] : test::test_directions()) {
        SCOPED_TRACE(name);
        Geometry g;
        g.size = {48, 40, 44};
        g.spacing = {0.5, 0.5, 0.5};
        g.origin = {-7, 3, 11};
        g.direction = direction;
        Volume<std::int16_t> scan(g, 0);
        for (std::int64_t k = 0; k < g.size[2]; ++k)
            for (std::int64_t j = 0; j < g.size[1]; ++j)
                for (std::int64_t i = 0; i < g.size[0]; ++i) scan.voxels[scan.offset(i, j, k)] = (i + j + k) % 2 ? -400 : -600;
        Grid3dOptions o;
        o.margin_mm = 0;
        const auto lungs = Volume<std::uint8_t>(g, 1);
        const Volume<std::uint8_t> centre = lung_box_on_grid(scan, lungs, o, 2);
        o.sampling = GridSampling::CellMean;
        const Volume<std::uint8_t> mean = lung_box_on_grid(scan, lungs, o, 2);
        EXPECT_EQ(mean.voxels, lung_box_on_grid(scan, lungs, o, 1).voxels);  // any thread count
        ASSERT_EQ(mean.geometry, centre.geometry);
        const auto window = [](double hu) { return static_cast<int>(std::lround((hu + 1000) * 255 / 1400)); };
        const auto& n = mean.geometry.size;
        int inside = 0;
        for (std::int64_t k = 1; k + 1 < n[2]; ++k)  // cells away from the scan's edge, where -1000 HU is averaged in
            for (std::int64_t j = 1; j + 1 < n[1]; ++j)
                for (std::int64_t i = 1; i + 1 < n[0]; ++i) {
                    ++inside;
                    // Grid voxel (i, j, k) is centred on scan voxel (4i, 4j, 4k): even parity, -600 HU.
                    ASSERT_EQ(centre.at(i, j, k), window(-600)) << i << " " << j << " " << k;
                    ASSERT_EQ(mean.at(i, j, k), window(-500)) << i << " " << j << " " << k;
                }
        EXPECT_GT(inside, 500);
    }
}

// On an axis where the scan is as coarse as the grid or coarser, a cell has one sample: a scan of 2-mm pixels and
// 2.5-mm slices reaches a 2-mm grid the same either way. And the sampling travels in the grid's JSON; a card
// written before it existed reads as centre.
TEST(Grid3d, CellMeanLeavesACoarseScanAsItIsAndOldCardsReadAsCentre) {
    auto scan = test::scan_with_ball(identity3(), {0, 0, 0});
    scan.geometry.spacing = {2.0, 2.5, 3.0};
    Grid3dOptions o;
    o.margin_mm = 2;
    const auto lungs = Volume<std::uint8_t>(scan.geometry, 1);
    const Volume<std::uint8_t> centre = lung_box_on_grid(scan, lungs, o, 1);
    o.sampling = GridSampling::CellMean;
    EXPECT_EQ(lung_box_on_grid(scan, lungs, o, 1).voxels, centre.voxels);

    nlohmann::json j = o;
    EXPECT_EQ(j.at("sampling"), "cell-mean");
    Grid3dOptions back;
    from_json(j, back);
    EXPECT_EQ(back.sampling, GridSampling::CellMean);
    j.erase("sampling");
    back.sampling = GridSampling::CellMean;
    from_json(j, back);
    EXPECT_EQ(back.sampling, GridSampling::Centre);
    j["sampling"] = "nearest";
    test::expect_error([&] { from_json(j, back); }, {"sampling", "nearest"});
}

}  // namespace
}  // namespace nodulecad
