#include <gtest/gtest.h>

#include "nodulecad/core/error.hpp"
#include "nodulecad/io/metaimage_header.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

// A real LUNA16 header (subset0, a scan with the flipped transform), as the challenge ships it.
const char* kLuna16Header =
    "ObjectType = Image\n"
    "NDims = 3\n"
    "BinaryData = True\n"
    "BinaryDataByteOrderMSB = False\n"
    "CompressedData = False\n"
    "TransformMatrix = -1 0 0 0 -1 0 0 0 1\n"
    "Offset = 198.60000600000001 200.10000600000001 -335.5\n"
    "CenterOfRotation = 0 0 0\n"
    "AnatomicalOrientation = RAI\n"
    "ElementSpacing = 0.78125 0.78125 2.5\n"
    "DimSize = 512 512 133\n"
    "ElementType = MET_SHORT\n"
    "ElementDataFile = 1.3.6.1.4.1.14519.5.2.1.6279.6001.100.raw\n";

TEST(MetaImageHeader, ParsesLuna16Header) {
    const MetaImageHeader h = parse_metaimage_header(kLuna16Header, "scan.mhd");
    EXPECT_EQ(h.ndims, 3);
    EXPECT_EQ(h.geometry.size, (std::array<std::int64_t, 3>{512, 512, 133}));
    EXPECT_EQ(h.geometry.spacing, (Vec3{0.78125, 0.78125, 2.5}));
    EXPECT_EQ(h.geometry.origin, (Vec3{198.60000600000001, 200.10000600000001, -335.5}));
    EXPECT_EQ(h.geometry.direction, (Mat3{-1, 0, 0, 0, -1, 0, 0, 0, 1}));
    EXPECT_EQ(h.element_type, ElementType::Int16);
    EXPECT_FALSE(h.msb);
    EXPECT_FALSE(h.compressed);
    EXPECT_EQ(h.data_file, "1.3.6.1.4.1.14519.5.2.1.6279.6001.100.raw");
    EXPECT_EQ(h.header_bytes, std::string(kLuna16Header).size());
}

TEST(MetaImageHeader, TransformMatrixListsColumns) {
    // Axis i points along world +y, axis j along world -x: columns (0,1,0) and (-1,0,0).
    const auto h = parse_metaimage_header(
        "NDims = 3\nDimSize = 2 2 2\nTransformMatrix = 0 1 0 -1 0 0 0 0 1\nElementType = MET_UCHAR\nElementDataFile = a.raw\n",
        "a.mhd");
    EXPECT_EQ(h.geometry.direction, (Mat3{0, -1, 0, 1, 0, 0, 0, 0, 1}));
    // Formatting writes the same columns back.
    EXPECT_NE(format_metaimage_header(h).find("TransformMatrix = 0 1 0 -1 0 0 0 0 1\n"), std::string::npos);
}

TEST(MetaImageHeader, AliasesCaseAndUnknownKeys) {
    const auto h = parse_metaimage_header(
        "objecttype = image\r\n"
        "ndims=3\r\n"
        "Comment = anything at all = really\r\n"
        "dimsize = 4 5 6\r\n"
        "ElementSize = 0.5 0.6 0.7\r\n"
        "Position = 1 2 3\r\n"
        "Rotation = 1 0 0 0 1 0 0 0 1\r\n"
        "ElementByteOrderMSB = true\r\n"
        "SomeVendorKey = 42\r\n"
        "elementtype = met_float\r\n"
        "elementdatafile = data/b.raw\r\n",
        "b.mhd");
    EXPECT_EQ(h.geometry.size, (std::array<std::int64_t, 3>{4, 5, 6}));
    EXPECT_EQ(h.geometry.spacing, (Vec3{0.5, 0.6, 0.7}));
    EXPECT_EQ(h.geometry.origin, (Vec3{1, 2, 3}));
    EXPECT_TRUE(h.msb);
    EXPECT_EQ(h.element_type, ElementType::Float32);
    EXPECT_EQ(h.data_file, "data/b.raw");
}

TEST(MetaImageHeader, SpacingWinsOverElementSizeAndOriginAlias) {
    const auto h = parse_metaimage_header(
        "NDims = 3\nDimSize = 1 1 1\nElementSize = 9 9 9\nElementSpacing = 1 2 3\nOrigin = -1 -2 -3\n"
        "Orientation = -1 0 0 0 -1 0 0 0 1\nElementType = MET_DOUBLE\nElementDataFile = LOCAL\n",
        "c.mha");
    EXPECT_EQ(h.geometry.spacing, (Vec3{1, 2, 3}));
    EXPECT_EQ(h.geometry.origin, (Vec3{-1, -2, -3}));
    EXPECT_EQ(h.geometry.direction, (Mat3{-1, 0, 0, 0, -1, 0, 0, 0, 1}));
    EXPECT_TRUE(h.local());
}

TEST(MetaImageHeader, TwoDimensionalHeader) {
    const auto h = parse_metaimage_header(
        "NDims = 2\nDimSize = 64 32\nElementSpacing = 0.5 0.25\nOffset = 10 20\nTransformMatrix = 0 1 1 0\n"
        "ElementType = MET_USHORT\nCompressedData = True\nCompressedDataSize = 100\nElementDataFile = s.zraw\n",
        "s.mhd");
    EXPECT_EQ(h.ndims, 2);
    EXPECT_EQ(h.geometry.size, (std::array<std::int64_t, 3>{64, 32, 1}));
    EXPECT_EQ(h.geometry.spacing, (Vec3{0.5, 0.25, 1}));
    EXPECT_EQ(h.geometry.origin, (Vec3{10, 20, 0}));
    EXPECT_EQ(h.geometry.direction, (Mat3{0, 1, 0, 1, 0, 0, 0, 0, 1}));
    EXPECT_TRUE(h.compressed);
    EXPECT_EQ(h.compressed_size, 100u);
}

TEST(MetaImageHeader, HeaderSizeAndDefaults) {
    const auto h = parse_metaimage_header("NDims = 3\nDimSize = 2 3 4\nHeaderSize = -1\nElementType = MET_INT\nElementDataFile = x.raw\n", "x.mhd");
    EXPECT_EQ(h.header_size, -1);
    EXPECT_EQ(h.geometry.spacing, (Vec3{1, 1, 1}));
    EXPECT_EQ(h.geometry.origin, (Vec3{0, 0, 0}));
    EXPECT_EQ(h.geometry.direction, identity3());
}

TEST(MetaImageHeader, FormatParsesBack) {
    MetaImageHeader h;
    h.geometry.size = {7, 8, 9};
    h.geometry.spacing = {0.1, 0.7031249999, 2.5};
    h.geometry.origin = {-195.123456789012, 0.3, 1e-7};
    h.geometry.direction = {0, 0, -1, 1, 0, 0, 0, -1, 0};
    h.element_type = ElementType::UInt32;
    h.compressed = true;
    h.compressed_size = 1234;
    h.data_file = "y.zraw";
    const auto back = parse_metaimage_header(format_metaimage_header(h), "y.mhd");
    EXPECT_EQ(back.geometry, h.geometry);
    EXPECT_EQ(back.element_type, h.element_type);
    EXPECT_EQ(back.compressed_size, h.compressed_size);
    EXPECT_EQ(back.data_file, h.data_file);
}

TEST(MetaImageHeader, AnatomicalOrientationCodes) {
    EXPECT_EQ(anatomical_orientation(identity3()), "RAI");
    EXPECT_EQ(anatomical_orientation(Mat3{-1, 0, 0, 0, -1, 0, 0, 0, 1}), "LPI");
    EXPECT_EQ(anatomical_orientation(Mat3{1, 0, 0, 0, 0, 1, 0, -1, 0}), "RSA");
}

struct BadHeader {
    std::string text;
    std::vector<std::string> fragments;
};

TEST(MetaImageHeader, BadHeadersGiveOneClearLine) {
    const std::string tail = "ElementType = MET_SHORT\nElementDataFile = a.raw\n";
    const std::vector<BadHeader> cases = {
        {"", {"empty file"}},
        {std::string("\x89PNG\r\n\x1a\n\0\0\0", 11), {"expected 'Key = Value', got '?PNG'", ":1:"}},
        {std::string("NDims = 3\n\0\x01\x02garbage", 20), {"binary data", ":2:"}},
        {"hello world\n", {"expected 'Key = Value'", ":1:"}},
        {"NDims = 3\nDimSize = 2 2 2\nElementType = MET_SHORT\n", {"no ElementDataFile"}},
        {"DimSize = 2 2 2\nElementType = MET_SHORT\nElementDataFile = a.raw\n", {"missing required key NDims"}},
        {"NDims = 3\nElementType = MET_SHORT\nElementDataFile = a.raw\n", {"missing required key DimSize"}},
        {"NDims = 3\nDimSize = 2 2 2\nElementDataFile = a.raw\n", {"missing required key ElementType"}},
        {"NDims = 4\nDimSize = 2 2 2 2\nElementType = MET_SHORT\nElementDataFile = a.raw\n", {"NDims is 4", ":1:"}},
        {"NDims = three\nDimSize = 2 2 2\nElementType = MET_SHORT\nElementDataFile = a.raw\n", {"NDims", "not an integer"}},
        {("NDims = 3\nDimSize = 2 2\n" + tail), {"DimSize has 2 values but NDims is 3", ":2:"}},
        {("NDims = 3\nDimSize = 2 0 2\n" + tail), {"DimSize", "not positive"}},
        {("NDims = 3\nDimSize = 2 -5 2\n" + tail), {"not positive"}},
        {("NDims = 3\nDimSize = 2 2 2\nElementSpacing = 1 0 1\n" + tail), {"ElementSpacing", "not positive", ":3:"}},
        {("NDims = 3\nDimSize = 2 2 2\nElementSpacing = 1 -0.5 1\n" + tail), {"not positive"}},
        {("NDims = 3\nDimSize = 2 2 2\nElementSpacing = 1 nan 1\n" + tail), {"not finite"}},
        {("NDims = 3\nDimSize = 2 2 2\nElementSpacing = 1 1\n" + tail), {"ElementSpacing has 2 values"}},
        {("NDims = 3\nDimSize = 2 2 2\nOffset = 1 x 1\n" + tail), {"Offset", "'x' is not a number"}},
        {("NDims = 3\nDimSize = 2 2 2\nTransformMatrix = 1 0 0 0 0 0 0 0 1\n" + tail), {"singular"}},
        {("NDims = 3\nDimSize = 2 2 2\nTransformMatrix = 1 0 0 0 1 0\n" + tail), {"TransformMatrix has 6 values"}},
        {"NDims = 3\nDimSize = 2 2 2\nElementType = MET_LONG_LONG\nElementDataFile = a.raw\n", {"ElementType 'MET_LONG_LONG' is not supported"}},
        {("NDims = 3\nDimSize = 2 2 2\nElementNumberOfChannels = 3\n" + tail), {"multi-channel"}},
        {("NDims = 3\nDimSize = 2 2 2\nBinaryData = False\n" + tail), {"ASCII data"}},
        {("NDims = 3\nDimSize = 2 2 2\nCompressedData = maybe\n" + tail), {"CompressedData must be True or False"}},
        {("NDims = 3\nDimSize = 2 2 2\nHeaderSize = -7\n" + tail), {"HeaderSize"}},
        {"NDims = 3\nDimSize = 2 2 2\nElementType = MET_SHORT\nElementDataFile = LIST\n", {"multi-file"}},
        {"NDims = 3\nDimSize = 2 2 2\nElementType = MET_SHORT\nElementDataFile = s%03d.raw 1 2 1\n", {"multi-file"}},
        {"ObjectType = Mesh\nNDims = 3\nDimSize = 2 2 2\nElementType = MET_SHORT\nElementDataFile = a.raw\n", {"ObjectType is 'Mesh'"}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.text);
        std::vector<std::string> frags = c.fragments;
        frags.push_back("bad.mhd");
        test::expect_error([&] { (void)parse_metaimage_header(c.text, "bad.mhd"); }, frags);
    }
}

}  // namespace
}  // namespace nodulecad
