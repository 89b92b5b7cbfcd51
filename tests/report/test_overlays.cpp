#include <gtest/gtest.h>

#include <filesystem>

#include "nodulecad/io/png.hpp"
#include "nodulecad/report/overlays.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

TEST(Overlays, OnePictureForEachMarkedSliceInOrderAndCapped) {
    test::TempDir dir;
    Geometry g;
    g.size = {12, 10, 8};
    const Volume<std::int16_t> scan(g, -800);
    Volume<std::uint8_t> marks(g, 0);
    marks.at(3, 4, 5) = 1;
    marks.at(6, 2, 3) = 1;
    const auto files = write_mark_overlays(scan, marks, dir.dir(), "u");
    ASSERT_EQ(files, (std::vector<std::string>{dir.path("u_slice3.png"), dir.path("u_slice5.png")}));
    for (const auto& f : files) EXPECT_GT(std::filesystem::file_size(f), 8u);
    EXPECT_EQ(write_mark_overlays(scan, marks, dir.path(""), "v", 1).size(), 1u);
    EXPECT_TRUE(std::filesystem::exists(dir.path("v_slice3.png")));
    EXPECT_FALSE(std::filesystem::exists(dir.path("v_slice5.png")));
    Geometry other = g;
    other.size = {12, 10, 9};
    test::expect_error([&] { (void)write_mark_overlays(scan, Volume<std::uint8_t>(other, 0), dir.dir(), "u"); }, {"u", "not on the scan's geometry"});
}

}  // namespace
}  // namespace nodulecad
