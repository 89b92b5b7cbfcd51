#include <gtest/gtest.h>

#include <cmath>

#include "nodulecad/evaluate/localisation.hpp"
#include "nodulecad/report/error_plot.hpp"

namespace nodulecad {
namespace {

TEST(Localisation, NearestCandidateWithinTheRadiusAndSignedErrors) {
    const std::vector<Annotation> ann{{"a", {0, 0, 0}, 10}, {"a", {100, 0, 0}, 6}, {"b", {0, 0, 0}, 8}};
    std::vector<Candidate> c{{"a", {2, -1, 0.5}, 0.9}, {"a", {1, 0, 0}, 0.2}, {"a", {104, 0, 0}, 0.8}, {"b", {0, 0, 3.9}, 0.5}};
    c[1].diameter_mm = 12;
    const auto e = pair_nodules(ann, c);
    ASSERT_EQ(e.size(), 3u);
    EXPECT_TRUE(e[0].matched);
    EXPECT_EQ(e[0].candidate.world, (Vec3{1, 0, 0}));  // the nearer one, whatever its probability
    EXPECT_EQ(e[0].error, (Vec3{1, 0, 0}));
    EXPECT_DOUBLE_EQ(e[0].diameter_error, 2);
    EXPECT_FALSE(e[1].matched);  // 4 mm away, radius 3
    EXPECT_TRUE(e[2].matched);
    EXPECT_TRUE(std::isnan(e[2].diameter_error));  // no diameter given
    EXPECT_DOUBLE_EQ(e[2].error[2], 3.9);
    EXPECT_TRUE(pair_nodules(ann, c, 5)[1].matched);  // a fixed distance instead of the radius
    const ErrorSummary s = summarize_errors(e);
    EXPECT_EQ(s.nodules, 3);
    EXPECT_EQ(s.matched, 2);
    EXPECT_DOUBLE_EQ(s.stats[0].mean, 0.5);   // x errors 1, 0
    EXPECT_DOUBLE_EQ(s.stats[0].sd, 0.5);
    EXPECT_DOUBLE_EQ(s.stats[0].mse, 0.5);
    EXPECT_DOUBLE_EQ(s.stats[2].mse, 3.9 * 3.9 / 2);
    EXPECT_EQ(s.stats[3].count, 1);
}

TEST(Localisation, CandidateDiametersAreReadWhenTheColumnExists) {
    const auto with = parse_results("seriesuid,coordX,coordY,coordZ,probability,diameter_mm\nu,1,2,3,0.5,7.5\n", "r.csv");
    EXPECT_DOUBLE_EQ(with[0].diameter_mm, 7.5);
    const auto without = parse_results("seriesuid,coordX,coordY,coordZ,probability\nu,1,2,3,0.5\n", "r.csv");
    EXPECT_TRUE(std::isnan(without[0].diameter_mm));
}

TEST(Localisation, FourPanelPlot) {
    const std::vector<Annotation> ann{{"a", {0, 0, 0}, 10}};
    const auto e = pair_nodules(ann, {{"a", {1, 2, -1}, 0.9}});
    const std::string svg = error_plot_svg(e);
    for (const char* t : {"X error (mm)", "Y error (mm)", "Z error (mm)", "diameter error (mm)"}) EXPECT_NE(svg.find(t), std::string::npos) << t;
    EXPECT_EQ(error_plot_png(e).width, 800);
}

}  // namespace
}  // namespace nodulecad
