// One reader and writer for every format: the format from the name, clear errors for names of no format (and for a
// single DICOM image given instead of its folder), every voxel type through both writers, HU from any stored type.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <limits>

#include "io/metaimage_fixtures.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/core/warnings.hpp"
#include "nodulecad/io/image_file.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

TEST(ImageFile, FormatFromTheName) {
    test::TempDir dir;
    EXPECT_EQ(image_format("a.mhd"), ImageFormat::MetaImage);
    EXPECT_EQ(image_format("a.mha"), ImageFormat::MetaImage);
    EXPECT_EQ(image_format("a.nii.gz"), ImageFormat::Nifti);
    EXPECT_EQ(image_format("a.nii"), ImageFormat::Nifti);
    EXPECT_EQ(image_format(dir.dir()), ImageFormat::Dicom);
    test::expect_error([&] { (void)image_format(dir.path("a.img")); }, {"a.img", "file not found"});
    test::write_text(dir.path("a.img"), "x");
    test::expect_error([&] { (void)image_format(dir.path("a.img")); }, {"a.img", "not a scan this reads"});
    // A file with the DICOM preamble: the user gave one image of a series.
    test::write_text(dir.path("IM0001"), std::string(128, '\0') + "DICM" + std::string(64, '\0'));
    test::expect_error([&] { (void)image_format(dir.path("IM0001")); }, {"IM0001", "one DICOM image", "give the folder"});
    EXPECT_EQ(output_format("x.nii.gz"), ImageFormat::Nifti);
    EXPECT_EQ(output_format("x.mha"), ImageFormat::MetaImage);
    test::expect_error([&] { (void)output_format("x.dcm"); }, {"x.dcm", "end it in .mhd"});
    EXPECT_EQ(image_file_name("u", ImageFormat::Nifti), "u.nii.gz");
    EXPECT_EQ(image_file_name("u", ImageFormat::MetaImage), "u.mhd");
    EXPECT_THROW((void)image_file_name("u", ImageFormat::Dicom), Error);
}

template <class T> void any_round_trip(const test::TempDir& dir, const std::string& tag) {
    const auto v = test::patterned_volume<T>(test::small_geometry(Mat3{-1, 0, 0, 0, -1, 0, 0, 0, 1}));
    for (const char* ext : {".mhd", ".mha", ".nii", ".nii.gz"})
        for (bool compress : {false, true}) {
            SCOPED_TRACE(tag + ext + (compress ? " compressed" : ""));
            const std::string path = dir.path(tag + (compress ? "z" : "r") + ext);
            write_any_image(path, AnyVolume(v), compress);
            const AnyVolume back = read_image(path);
            ASSERT_TRUE(std::holds_alternative<Volume<T>>(back));
            EXPECT_EQ(std::get<Volume<T>>(back).voxels, v.voxels);
            EXPECT_TRUE(same_grid(geometry_of(back), v.geometry));
        }
}

TEST(ImageFile, EveryVoxelTypeThroughBothWriters) {
    test::TempDir dir;
    any_round_trip<std::int8_t>(dir, "i8");
    any_round_trip<std::uint8_t>(dir, "u8");
    any_round_trip<std::int16_t>(dir, "i16");
    any_round_trip<std::uint16_t>(dir, "u16");
    any_round_trip<std::int32_t>(dir, "i32");
    any_round_trip<std::uint32_t>(dir, "u32");
    any_round_trip<float>(dir, "f32");
    any_round_trip<double>(dir, "f64");
    test::expect_error([&] { write_any_image(dir.path("x.png"), AnyVolume(Volume<float>(test::small_geometry()))); }, {"x.png"});
    EXPECT_FALSE(std::filesystem::exists(dir.path("x.png")));
}

TEST(ImageFile, CtFromAnyStoredTypeRoundsAndClamps) {
    test::TempDir dir;
    Volume<float> f(test::small_geometry(), 0.f);
    f.voxels[0] = -1000.5f;  // half away from zero
    f.voxels[1] = 39.49f;
    f.voxels[2] = 1e6f;  // clamped
    f.voxels[3] = std::numeric_limits<float>::quiet_NaN();  // no HU: 0
    write_image(dir.path("f.nii.gz"), f);
    const auto hu = read_ct(dir.path("f.nii.gz"));
    // The NaN voxel is said, once per process, with the file's name.
    const auto given = warnings_given();
    EXPECT_NE(std::find(given.begin(), given.end(), dir.path("f.nii.gz") + ": 1 of " + std::to_string(f.voxels.size()) +
                                                           " voxels are NaN or infinite: read as 0 HU"),
              given.end());
    EXPECT_EQ(hu.voxels[0], -1001);
    EXPECT_EQ(hu.voxels[1], 39);
    EXPECT_EQ(hu.voxels[2], 32767);
    EXPECT_EQ(hu.voxels[3], 0);
    Volume<std::int32_t> wide(test::small_geometry(), -40000);
    write_image(dir.path("w.mhd"), convert_volume<float>(AnyVolume(wide)));
    EXPECT_EQ(read_ct(dir.path("w.mhd")).voxels[0], -32768);
}

}  // namespace
}  // namespace nodulecad
