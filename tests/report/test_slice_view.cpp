#include <gtest/gtest.h>

#include <cmath>

#include "report/slice_view.hpp"
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

}  // namespace
}  // namespace nodulecad
