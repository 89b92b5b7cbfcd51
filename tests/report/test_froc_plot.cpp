#include <gtest/gtest.h>

#include "nodulecad/report/froc_plot.hpp"

namespace nodulecad {
namespace {

FrocResult sample_result() {
    const std::vector<Annotation> ann{{"a", {0, 0, 0}, 10}, {"b", {0, 0, 0}, 10}};
    const std::vector<Candidate> res{{"a", {1, 0, 0}, 0.9}, {"a", {50, 0, 0}, 0.8}, {"b", {0, 2, 0}, 0.7}, {"b", {0, 60, 0}, 0.6}};
    return evaluate_froc(ann, {}, {"a", "b"}, res);
}

TEST(FrocPlot, SvgHasTheSevenPointsTicksAndBand) {
    const FrocResult r = sample_result();
    const FrocBootstrap b = bootstrap_froc(r, 50, 1);
    const std::string svg = froc_svg(r, &b, "test");
    EXPECT_EQ(svg.rfind("<svg", 0), 0u);
    EXPECT_NE(svg.find("</svg>"), std::string::npos);
    std::size_t circles = 0;
    for (std::size_t at = svg.find("<circle"); at != std::string::npos; at = svg.find("<circle", at + 1)) ++circles;
    EXPECT_EQ(circles, 7u);
    for (const char* tick : {">1/8<", ">1/4<", ">1/2<", ">1<", ">2<", ">4<", ">8<"}) EXPECT_NE(svg.find(tick), std::string::npos) << tick;
    EXPECT_NE(svg.find("<polygon"), std::string::npos);  // the bootstrap band
    EXPECT_NE(svg.find("CPM 0.86"), std::string::npos);  // 6/7
    EXPECT_EQ(froc_svg(r, nullptr, "t").find("<polygon"), std::string::npos);
}

TEST(FrocPlot, PngDrawsCurvePointsAndLabels) {
    const FrocResult r = sample_result();
    const Image im = froc_png(r, nullptr, 640, 480);
    ASSERT_EQ(im.width, 640);
    ASSERT_EQ(im.height, 480);
    std::size_t red = 0, blue = 0, dark = 0;
    for (std::size_t p = 0; p < im.pixels.size(); p += 3) {
        const int R = im.pixels[p], G = im.pixels[p + 1], B = im.pixels[p + 2];
        red += R > 200 && G < 60 && B < 60;
        blue += B > 200 && R < 60;
        dark += R < 80 && G < 80 && B < 80;
    }
    EXPECT_GT(red, 7u * 30);  // seven filled dots
    EXPECT_GT(blue, 500u);    // the curve
    EXPECT_GT(dark, 1500u);   // frame, ticks and labels
}

}  // namespace
}  // namespace nodulecad
