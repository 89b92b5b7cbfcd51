#include <gtest/gtest.h>

#include <cmath>

#include "nodulecad/report/slice_view.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

Volume<std::int16_t> marker_volume(bool flipped) {
    // 20 x 10 x 6 voxels of 1 x 1 x 2 mm; one bright voxel at the world's low-x, low-y corner of slice 2.
    Geometry g;
    g.size = {20, 10, 6};
    g.spacing = {1, 1, 2};
    g.origin = flipped ? Vec3{19, 9, 0} : Vec3{0, 0, 0};
    g.direction = flipped ? Mat3{-1, 0, 0, 0, -1, 0, 0, 0, 1} : identity3();
    Volume<std::int16_t> v(g, -1000);
    const Vec3 idx = world_to_index(g, {0, 0, 4});
    v.at(std::llround(idx[0]), std::llround(idx[1]), std::llround(idx[2])) = 400;
    return v;
}

TEST(SliceView, AxialIsWorldOrientedForAnyDirection) {
    for (bool flipped : {false, true}) {
        const auto v = marker_volume(flipped);
        SliceViewOptions o;
        o.world_point = {0, 0, 4};
        const Image im = render_slice_view(v, o);
        EXPECT_EQ(im.width, 20);
        EXPECT_EQ(im.height, 10);
        // World (0, 0) = patient's right-anterior corner: top-left of the picture, white at HU 400.
        EXPECT_EQ(im.pixels[0], 255) << flipped;
        EXPECT_EQ(im.pixels[3], 0) << flipped;
    }
    SliceViewOptions o;
    o.world_point = {0, 0, 4};
    EXPECT_EQ(render_slice_view(marker_volume(false), o).pixels, render_slice_view(marker_volume(true), o).pixels);
}

TEST(SliceView, CoronalHasSuperiorUpAndSquareMillimetres) {
    const auto v = marker_volume(false);
    SliceViewOptions o;
    o.plane = Plane::Coronal;
    o.world_point = {0, 0, 4};
    const Image im = render_slice_view(v, o);
    EXPECT_EQ(im.width, 20);
    EXPECT_EQ(im.height, 11);  // z from 0 to 10 mm at 1 mm pixels
    // z = 4 mm is 6 rows below the top (z = 10 mm).
    EXPECT_EQ(im.pixels[static_cast<std::size_t>(6 * im.width) * 3], 255);
}

TEST(SliceView, OverlayTintsRedAndBadInputsFail) {
    auto v = marker_volume(false);
    Volume<std::uint8_t> mask(v.geometry, 0);
    mask.at(5, 5, 2) = 1;
    SliceViewOptions o;
    o.world_point = {0, 0, 4};
    o.overlay = &mask;
    const Image im = render_slice_view(v, o);
    const std::size_t p = static_cast<std::size_t>(5 * im.width + 5) * 3;
    EXPECT_GT(im.pixels[p], im.pixels[p + 1]);
    Volume<std::uint8_t> other(marker_volume(true).geometry, 0);
    o.overlay = &other;
    test::expect_error([&] { (void)render_slice_view(v, o); }, {"overlay geometry"});
    o.overlay = nullptr;
    o.window_lo = 100;
    o.window_hi = 0;
    test::expect_error([&] { (void)render_slice_view(v, o); }, {"window"});
}

// A bright 6 mm ball at world (10, -5, 20) in a scan of 0.7 x 0.7 x 1.25 mm voxels, on the given direction.
Volume<std::int16_t> ball_volume(const Mat3& direction) {
    Geometry g;
    g.size = {80, 80, 40};
    g.spacing = {0.7, 0.7, 1.25};
    g.direction = direction;
    // Put voxel (40, 40, 20) on the ball's centre whatever the direction.
    const Vec3 centre{10, -5, 20};
    g.origin = {0, 0, 0};
    const Vec3 offset = index_to_world(g, {40, 40, 20});
    g.origin = {centre[0] - offset[0], centre[1] - offset[1], centre[2] - offset[2]};
    Volume<std::int16_t> v(g, -900);
    for (std::int64_t k = 0; k < 40; ++k)
        for (std::int64_t j = 0; j < 80; ++j)
            for (std::int64_t i = 0; i < 80; ++i) {
                const Vec3 w = index_to_world(g, {static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)});
                if (std::hypot(w[0] - centre[0], w[1] - centre[1], w[2] - centre[2]) < 3) v.at(i, j, k) = 60;
            }
    return v;
}

const std::uint8_t* pixel(const Image& im, int row, int col) {
    return im.pixels.data() + (static_cast<std::size_t>(row) * static_cast<std::size_t>(im.width) + static_cast<std::size_t>(col)) * 3;
}

TEST(ZoomView, CentresTheFindingWithARingAtItsSizeOnEveryDirection) {
    for (const auto& [name, d] : test::test_directions()) {
        SCOPED_TRACE(name);
        const auto v = ball_volume(d);
        ZoomViewOptions o;
        o.centre = {10, -5, 20};
        o.field_mm = 30;
        o.pixels = 120;  // 0.25 mm pixels
        o.ring_diameter_mm = 6;
        const Image im = render_zoom_view(v, o);
        ASSERT_EQ(im.width, 120);
        ASSERT_EQ(im.height, 120);
        // The ball (HU 60 in a -1000..400 window: grey 193) fills the centre; 10 mm off it is lung (-900: grey 18).
        EXPECT_NEAR(pixel(im, 60, 60)[0], 193, 3);
        EXPECT_NEAR(pixel(im, 60, 60 + 40)[1], 18, 3);
        // The ring: 3 + 2 mm from the centre (20 px), yellow; not at 10 px.
        const std::uint8_t* ring = pixel(im, 60, 60 + 20);
        EXPECT_EQ(ring[0], 250);
        EXPECT_EQ(ring[2], 21);
        EXPECT_NE(pixel(im, 60, 60 + 10)[2], 21);
    }
}

TEST(ZoomView, CrossHairWithoutADiameterAndOverlayTint) {
    const auto v = ball_volume(identity3());
    Volume<std::uint8_t> marks(v.geometry, 0);
    marks.at(40, 40, 20) = 1;
    ZoomViewOptions o;
    o.centre = {10, -5, 20};
    o.field_mm = 30;
    o.pixels = 120;
    o.overlay = &marks;
    const Image im = render_zoom_view(v, o);
    // Cross-hair arms from 4 mm (16 px) to 12 mm out, a gap over the finding itself.
    EXPECT_EQ(pixel(im, 60, 60 + 24)[2], 21);
    EXPECT_EQ(pixel(im, 60 - 24, 60)[2], 21);
    EXPECT_NE(pixel(im, 60, 60 + 8)[2], 21);
    // The marked voxel is tinted red at the centre (red above green), not elsewhere.
    EXPECT_GT(pixel(im, 60, 60)[0], pixel(im, 60, 60)[1] + 50);
    EXPECT_EQ(pixel(im, 10, 10)[0], pixel(im, 10, 10)[1]);
    o.pixels = 2;
    test::expect_error([&] { (void)render_zoom_view(v, o); }, {"zoom view"});
}

}  // namespace
}  // namespace nodulecad
