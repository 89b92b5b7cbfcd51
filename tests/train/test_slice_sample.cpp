// Training samples (train/slice_sample): the plain copy, each geometric step against positions worked out by hand,
// scaling about the window's centre with the mask following the image, the area outside the slice, crops around
// nodules, and NpyMap's bulk read in every stored type.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "nodulecad/core/files.hpp"
#include "nodulecad/io/npy.hpp"
#include "nodulecad/io/npy_map.hpp"
#include "test_util.hpp"
#include "nodulecad/train/slice_sample.hpp"

namespace nodulecad {
namespace {

constexpr int S = 16, C = 2;

// Two samples of C x S x S: channel c of sample r holds 100 r + 10 c + (x + S y) / 256 (every pixel its own value),
// sample 0 with a bright 6 x 6 square nodule (value 5 in both channels) at x 4..9, y 6..11 and its mask.
struct Fixture {
    test::TempDir dir;
    std::unique_ptr<NpyMap> images, masks;
    SliceSource src;
    Fixture() {
        std::vector<float> img(2 * C * S * S);
        std::vector<std::uint8_t> msk(2 * S * S, 0);
        for (int r = 0; r < 2; ++r)
            for (int c = 0; c < C; ++c)
                for (int y = 0; y < S; ++y)
                    for (int x = 0; x < S; ++x) {
                        const bool nodule = r == 0 && x >= 4 && x <= 9 && y >= 6 && y <= 11;
                        img[static_cast<std::size_t>(((r * C + c) * S + y) * S + x)] =
                            nodule ? 5.f : static_cast<float>(100 * r + 10 * c) + static_cast<float>(x + S * y) / 256.f;
                        if (nodule) msk[static_cast<std::size_t>((r * S + y) * S + x)] = 1;
                    }
        write_npy(dir.path("images.npy"), {2, C, S, S}, img);
        write_npy(dir.path("masks.npy"), {2, 1, S, S}, msk);
        images = std::make_unique<NpyMap>(dir.path("images.npy"));
        masks = std::make_unique<NpyMap>(dir.path("masks.npy"));
        src.images = images.get();
        src.masks = masks.get();
        src.channels = C;
        src.size = S;
        src.mean = 0.5;
        src.std = 2;
    }
    float raw(int r, int c, int x, int y) const { return images->value(static_cast<std::uint64_t>(((r * C + c) * S + y) * S + x)); }
};

struct Sample {
    std::vector<float> x, y;
    int w;
    explicit Sample(int window) : x(static_cast<std::size_t>(C * window * window)), y(static_cast<std::size_t>(window * window)), w(window) {}
    float px(int c, int u, int v) const { return x[static_cast<std::size_t>((c * w + v) * w + u)]; }
    float raw(int c, int u, int v, const SliceSource& s) const { return px(c, u, v) * static_cast<float>(s.std) + static_cast<float>(s.mean); }
    float mask(int u, int v) const { return y[static_cast<std::size_t>(v * w + u)]; }
};

TEST(SliceSample, PlainSampleIsTheNormalisedSlice) {
    Fixture f;
    Sample s(S);
    fill_sample(f.src, 0, false, 0, Rng(1), s.x.data(), s.y.data());
    for (int c = 0; c < C; ++c)
        for (int v = 0; v < S; ++v)
            for (int u = 0; u < S; ++u) ASSERT_EQ(s.px(c, u, v), (f.raw(0, c, u, v) - 0.5f) * 0.5f);
    for (int v = 0; v < S; ++v)
        for (int u = 0; u < S; ++u) ASSERT_EQ(s.mask(u, v), (u >= 4 && u <= 9 && v >= 6 && v <= 11) ? 1.f : 0.f);
}

TEST(SliceSample, EachGeometricStepMovesPixelsWhereWorkedOut) {
    Fixture f;
    const auto expect_pixel = [&](const SliceAugment& a, int u, int v, int x, int y, const char* what) {
        Sample s(S);
        render_sample(f.src, 1, S, 0, 0, a, s.x.data(), s.y.data());
        EXPECT_EQ(s.px(1, u, v), (f.raw(1, 1, x, y) - 0.5f) * 0.5f) << what;
    };
    SliceAugment a;
    a.flip_x = true;  // output (u, v) shows (15 - u, v)
    expect_pixel(a, 2, 3, 13, 3, "flip x");
    a = {};
    a.flip_y = true;
    expect_pixel(a, 2, 3, 2, 12, "flip y");
    a = {};
    a.quarter_turns = 1;  // output (u, v) shows (v, 15 - u)
    expect_pixel(a, 10, 3, 3, 5, "quarter turn");
    a.quarter_turns = 2;  // (15 - u, 15 - v)
    expect_pixel(a, 10, 3, 5, 12, "half turn");
    a = {};
    a.shift_x = 2;
    a.shift_y = -1;  // content moves right 2 and up 1: output (u, v) shows (u - 2, v + 1)
    expect_pixel(a, 7, 4, 5, 5, "shift");
    a.quarter_turns = 1;
    a.flip_x = true;  // shift, then turn: (u - 2, v + 1) -> (v + 1, 15 - (u - 2)); then mirror x: 15 - (v + 1)
    expect_pixel(a, 7, 4, 10, 10, "shift, turn, mirror");
    a = {};
    a.gain = 2;
    a.offset = 0.25f;
    Sample s(S);
    render_sample(f.src, 1, S, 0, 0, a, s.x.data(), s.y.data());
    EXPECT_FLOAT_EQ(s.px(0, 3, 4), (f.raw(1, 0, 3, 4) * 2 + 0.25f - 0.5f) * 0.5f);
}

TEST(SliceSample, ScalingIsAboutTheCentreAndTheMaskFollowsTheImage) {
    Fixture f;
    SliceAugment a;
    a.scale = 1.25;
    a.shift_x = 1;
    Sample s(S);
    render_sample(f.src, 0, S, 0, 0, a, s.x.data(), s.y.data());
    // Scaled 1.25x about the window's centre (7.5, 7.5), then moved right 1 pixel, the square's edges
    // (x 3.5..9.5, y 5.5..11.5) go to x 3.5..11, y 5..12.5: 7.5 x 7.5 pixels around (7.25, 8.75).
    int area = 0;
    double su = 0, sv = 0;
    for (int v = 0; v < S; ++v)
        for (int u = 0; u < S; ++u)
            if (s.mask(u, v) > 0) {
                ++area;
                su += u;
                sv += v;
                // Under the mask the image is the nodule's: at least a quarter of the bilinear weight is on it
                // (5 x 0.25), brighter than any background pixel of channel 0 (below 1).
                EXPECT_GT(s.raw(0, u, v, f.src), 1.2f) << u << "," << v;
            }
    EXPECT_NEAR(area, 7.5 * 7.5, 8);
    EXPECT_NEAR(su / area, 7.25, 0.35);
    EXPECT_NEAR(sv / area, 8.75, 0.35);
    // Inside the square the image is the nodule's value exactly; bilinear values elsewhere lie between neighbours.
    EXPECT_FLOAT_EQ(s.raw(0, 8, 8, f.src), 5.f);
    for (int v = 0; v < S; ++v)
        for (int u = 0; u < S; ++u) {
            EXPECT_GE(s.raw(1, u, v, f.src), 4.999f);  // channel 1: nodule 5, background 10..11, no pixel outside
            EXPECT_LE(s.raw(1, u, v, f.src), 11.f);
        }
}

TEST(SliceSample, OutsideTheSliceIsZeroAndEmptyWindowsWork) {
    Fixture f;
    Sample s(8);
    render_sample(f.src, 1, 8, 12, -2, SliceAugment{}, s.x.data(), s.y.data());  // window x 12..19, y -2..5
    EXPECT_EQ(s.raw(0, 0, 2, f.src), f.raw(1, 0, 12, 0));
    EXPECT_EQ(s.raw(0, 3, 7, f.src), f.raw(1, 0, 15, 5));
    EXPECT_EQ(s.raw(0, 4, 3, f.src), 0.f);  // x 16
    EXPECT_EQ(s.raw(0, 1, 1, f.src), 0.f);  // y -1
    render_sample(f.src, 1, 8, 40, 40, SliceAugment{}, s.x.data(), s.y.data());
    for (float v : s.x) EXPECT_EQ(v, -0.25f);  // (0 - 0.5) / 2
    for (float v : s.y) EXPECT_EQ(v, 0.f);
}

TEST(SliceSample, CropsHoldANoduleAndAugmentationIsSeeded) {
    Fixture f;
    for (std::uint64_t seed = 0; seed < 40; ++seed) {
        Sample s(8);
        fill_sample(f.src, 0, false, 8, Rng(seed), s.x.data(), s.y.data());
        float in_mask = 0;
        for (float v : s.y) in_mask += v;
        EXPECT_GT(in_mask, 0.f) << seed;
    }
    Sample a(S), b(S), c(S);
    fill_sample(f.src, 0, true, 0, Rng(3), a.x.data(), a.y.data());
    fill_sample(f.src, 0, true, 0, Rng(3), b.x.data(), b.y.data());
    fill_sample(f.src, 0, true, 0, Rng(4), c.x.data(), c.y.data());
    EXPECT_EQ(a.x, b.x);
    EXPECT_EQ(a.y, b.y);
    EXPECT_NE(a.x, c.x);
    // Draws cover every option within their ranges.
    Rng rng(5);
    int turns[4] = {0, 0, 0, 0};
    double lo = 2, hi = 0;
    for (int i = 0; i < 400; ++i) {
        const SliceAugment d = draw_slice_augment(rng, 64);
        ++turns[d.quarter_turns];
        lo = std::min(lo, d.scale);
        hi = std::max(hi, d.scale);
        EXPECT_LE(std::abs(d.shift_x), 4);
        EXPECT_EQ(d.shift_x, std::round(d.shift_x));
    }
    for (int t : turns) EXPECT_GT(t, 60);
    EXPECT_EQ(draw_slice_augment(rng, 64, 0).scale, 1.0);  // --scale-augment 0
    for (int i = 0; i < 50; ++i) {
        const double s = draw_slice_augment(rng, 64, 0.2).scale;
        EXPECT_GE(s, 0.8);
        EXPECT_LE(s, 1.2);
    }
    EXPECT_GE(lo, 0.9);
    EXPECT_LT(lo, 0.91);
    EXPECT_LE(hi, 1.1);
    EXPECT_GT(hi, 1.09);
}

TEST(NpyMap, BulkValuesMatchValueInEveryStoredType) {
    test::TempDir dir;
    const std::vector<float> f32 = {0.5f, -1.25f, 3e5f, 7.f, 0.f, -0.f};
    write_npy(dir.path("f.npy"), {6}, f32);
    write_npy(dir.path("u.npy"), {4}, std::vector<std::uint8_t>{0, 1, 200, 255});
    write_npy(dir.path("s.npy"), {3}, std::vector<std::int16_t>{-1024, 0, 3071});
    std::string half = format_npy_header(std::string("<f2"), {3});
    for (float v : {1.5f, -2.f, 0.099975586f}) {
        const std::uint16_t h = float_to_half(v);
        half.append(reinterpret_cast<const char*>(&h), 2);
    }
    write_file_atomically(dir.path("h.npy"), half);
    for (const char* name : {"f.npy", "u.npy", "s.npy", "h.npy"}) {
        const NpyMap m(dir.path(name));
        std::vector<float> out(m.count() - 1);
        m.values(1, out.size(), out.data());
        for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], m.value(i + 1)) << name;
    }
    const NpyMap h(dir.path("h.npy"));
    EXPECT_EQ(h.value(1), -2.f);
    const NpyMap u(dir.path("u.npy"));
    EXPECT_EQ(u.value(2), 200.f);
}

}  // namespace
}  // namespace nodulecad
