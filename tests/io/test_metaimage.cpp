#include <gtest/gtest.h>

#include <zlib.h>

#include <filesystem>

#include "nodulecad/core/files.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "io/metaimage_fixtures.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

using test::patterned_volume;
using test::raw_bytes;
using test::small_geometry;

template <class T> class MetaImageRoundTrip : public ::testing::Test {};
using AllTypes = ::testing::Types<std::int8_t, std::uint8_t, std::int16_t, std::uint16_t, std::int32_t, std::uint32_t,
                                  float, double>;
TYPED_TEST_SUITE(MetaImageRoundTrip, AllTypes);

TYPED_TEST(MetaImageRoundTrip, EveryTypeCompressionAndContainer) {
    using T = TypeParam;
    test::TempDir dir;
    for (const auto& [name, d] : test::test_directions()) {
        const Volume<T> v = patterned_volume<T>(small_geometry(d));
        for (bool compress : {false, true})
            for (const char* ext : {".mhd", ".mha"}) {
                SCOPED_TRACE(name + std::string(compress ? " compressed " : " raw ") + ext);
                const std::string path = dir.path(name + (compress ? "_z" : "_r") + ext);
                WriteOptions w;
                w.compress = compress;
                write_metaimage(path, v, w);
                MetaImageHeader h;
                const AnyVolume any = read_metaimage(path, {}, &h);
                ASSERT_EQ(element_type_of_volume(any), element_type_of<T>);
                const Volume<T>& back = std::get<Volume<T>>(any);
                EXPECT_EQ(back.geometry, v.geometry);  // bit-exact: numbers are written shortest-round-trip
                EXPECT_EQ(back.voxels, v.voxels);
                EXPECT_EQ(h.compressed, compress);
                EXPECT_EQ(h.geometry, v.geometry);
                EXPECT_EQ(read_metaimage_header(path).compressed, compress);
                EXPECT_EQ(h.local(), std::string(ext) == ".mha");
            }
    }
}

TYPED_TEST(MetaImageRoundTrip, BigEndianDataIsSwapped) {
    using T = TypeParam;
    test::TempDir dir;
    const Volume<T> v = patterned_volume<T>(small_geometry());
    for (bool compress : {false, true}) {
        std::string data = raw_bytes(v, true);
        std::string header = "ObjectType = Image\nNDims = 3\nBinaryDataByteOrderMSB = True\nDimSize = 7 5 3\n"
                             "ElementSpacing = 0.703125 0.8 2.5\nOffset = -172.9 200.1 -335.5\nElementType = " +
                             std::string(metaimage_name(element_type_of<T>)) + "\n";
        if (compress) {
            uLongf len = compressBound(static_cast<uLong>(data.size()));
            std::string packed(len, '\0');
            ASSERT_EQ(compress2(reinterpret_cast<Bytef*>(packed.data()), &len,
                                reinterpret_cast<const Bytef*>(data.data()), static_cast<uLong>(data.size()), 9),
                      Z_OK);
            packed.resize(len);
            data = packed;
            header += "CompressedData = True\nCompressedDataSize = " + std::to_string(len) + "\n";
        }
        header += "ElementDataFile = msb.dat\n";
        test::write_text(dir.path("msb.dat"), data);
        test::write_text(dir.path("msb.mhd"), header);
        const Volume<T> back = read_volume<T>(dir.path("msb.mhd"));
        EXPECT_EQ(back.voxels, v.voxels);
        EXPECT_EQ(back.geometry, v.geometry);
    }
}

TEST(MetaImage, TwoDimensionalRoundTrip) {
    test::TempDir dir;
    Geometry g;
    g.size = {16, 9, 1};
    g.spacing = {0.5, 0.25, 1};
    g.origin = {3, 4, 0};
    g.direction = {0, -1, 0, 1, 0, 0, 0, 0, 1};
    const Volume<std::uint8_t> v = patterned_volume<std::uint8_t>(g);
    WriteOptions w;
    w.ndims = 2;
    write_metaimage(dir.path("slice.mhd"), v, w);
    const std::string text = test::read_text(dir.path("slice.mhd"));
    EXPECT_NE(text.find("NDims = 2\n"), std::string::npos);
    EXPECT_NE(text.find("DimSize = 16 9\n"), std::string::npos);
    const MetaImageHeader h = read_metaimage_header(dir.path("slice.mhd"));
    EXPECT_EQ(h.ndims, 2);
    const auto back = read_volume<std::uint8_t>(dir.path("slice.mhd"));
    EXPECT_EQ(back.geometry, g);
    EXPECT_EQ(back.voxels, v.voxels);
}

TEST(MetaImage, WritesLuna16StyleHeaderAndRawBeside) {
    test::TempDir dir;
    const auto v = patterned_volume<std::int16_t>(small_geometry(Mat3{-1, 0, 0, 0, -1, 0, 0, 0, 1}));
    write_metaimage(dir.path("1.2.3.mhd"), v);
    EXPECT_EQ(test::read_text(dir.path("1.2.3.mhd")),
              "ObjectType = Image\n"
              "NDims = 3\n"
              "BinaryData = True\n"
              "BinaryDataByteOrderMSB = False\n"
              "CompressedData = False\n"
              "TransformMatrix = -1 0 0 0 -1 0 0 0 1\n"
              "Offset = -172.9 200.1 -335.5\n"
              "CenterOfRotation = 0 0 0\n"
              "AnatomicalOrientation = LPI\n"
              "ElementSpacing = 0.703125 0.8 2.5\n"
              "DimSize = 7 5 3\n"
              "ElementType = MET_SHORT\n"
              "ElementDataFile = 1.2.3.raw\n");
    EXPECT_EQ(file_size(dir.path("1.2.3.raw")), 7u * 5 * 3 * 2);
    WriteOptions w;
    w.compress = true;
    write_metaimage(dir.path("z.mhd"), v, w);
    EXPECT_TRUE(std::filesystem::exists(dir.path("z.zraw")));
    EXPECT_NE(test::read_text(dir.path("z.mhd")).find("CompressedDataSize = " + std::to_string(file_size(dir.path("z.zraw")))),
              std::string::npos);
}

TEST(MetaImage, HeaderSizeSkipsAndMinusOneReadsTheTail) {
    test::TempDir dir;
    const auto v = patterned_volume<std::uint16_t>(small_geometry());
    const std::string data = raw_bytes(v, false);
    const std::string base = "NDims = 3\nDimSize = 7 5 3\nElementSpacing = 0.703125 0.8 2.5\nOffset = -172.9 200.1 -335.5\n"
                             "ElementType = MET_USHORT\n";
    test::write_text(dir.path("skip.dat"), std::string(100, 'x') + data);
    test::write_text(dir.path("skip.mhd"), base + "HeaderSize = 100\nElementDataFile = skip.dat\n");
    EXPECT_EQ(read_volume<std::uint16_t>(dir.path("skip.mhd")).voxels, v.voxels);
    test::write_text(dir.path("tail.dat"), std::string(37, 'y') + data);
    test::write_text(dir.path("tail.mhd"), base + "HeaderSize = -1\nElementDataFile = tail.dat\n");
    EXPECT_EQ(read_volume<std::uint16_t>(dir.path("tail.mhd")).voxels, v.voxels);
    // LOCAL with HeaderSize = -1 reads the end of the header file itself.
    test::write_text(dir.path("local.mha"), base + "HeaderSize = -1\nElementDataFile = LOCAL\n" + data);
    EXPECT_EQ(read_volume<std::uint16_t>(dir.path("local.mha")).voxels, v.voxels);
}

TEST(MetaImage, DataFileInSubfolderRelativeToHeader) {
    test::TempDir dir;
    std::filesystem::create_directories(dir.path("sub/raws"));
    const auto v = patterned_volume<float>(small_geometry());
    test::write_text(dir.path("sub/raws/d.bin"), raw_bytes(v, false));
    test::write_text(dir.path("sub/h.mhd"), "NDims = 3\nDimSize = 7 5 3\nElementSpacing = 0.703125 0.8 2.5\n"
                                            "Offset = -172.9 200.1 -335.5\nElementType = MET_FLOAT\nElementDataFile = raws/d.bin\n");
    EXPECT_EQ(read_volume<float>(dir.path("sub/h.mhd")).voxels, v.voxels);
}

TEST(MetaImage, ReadVolumeConvertsTypes) {
    test::TempDir dir;
    Volume<std::int16_t> v(small_geometry());
    for (std::size_t n = 0; n < v.voxels.size(); ++n) v.voxels[n] = static_cast<std::int16_t>(-1000 + 10 * static_cast<int>(n));
    write_metaimage(dir.path("hu.mhd"), v);
    const Volume<float> f = read_volume<float>(dir.path("hu.mhd"));
    ASSERT_EQ(f.voxels.size(), v.voxels.size());
    for (std::size_t n = 0; n < v.voxels.size(); ++n) EXPECT_EQ(f.voxels[n], static_cast<float>(v.voxels[n]));
}

TEST(MetaImage, OverwriteIsAtomicAndLeavesNoTemporaries) {
    test::TempDir dir;
    auto v = patterned_volume<std::int16_t>(small_geometry());
    write_metaimage(dir.path("a.mhd"), v);
    v.voxels[0] = 1234;
    write_metaimage(dir.path("a.mhd"), v);
    EXPECT_EQ(read_volume<std::int16_t>(dir.path("a.mhd")).voxels[0], 1234);
    int entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.dir())) (void)e, ++entries;
    EXPECT_EQ(entries, 2);  // a.mhd + a.raw
}

}  // namespace
}  // namespace nodulecad
