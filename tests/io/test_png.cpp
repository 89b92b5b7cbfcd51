#include <gtest/gtest.h>

#include <zlib.h>

#include "nodulecad/core/files.hpp"
#include "nodulecad/io/png.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

std::uint32_t be32(const std::string& s, std::size_t at) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) << 24 | static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8 | static_cast<unsigned char>(s[at + 3]);
}

TEST(Png, ChunksCrcsAndPixelsDecodeBack) {
    Image im;
    im.width = 5;
    im.height = 3;
    im.channels = 3;
    for (int n = 0; n < 45; ++n) im.pixels.push_back(static_cast<std::uint8_t>(n * 5));
    const std::string png = encode_png(im);
    ASSERT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
    // Walk the chunks, checking each CRC; collect IDAT.
    std::size_t at = 8;
    std::string idat, types;
    while (at < png.size()) {
        const std::uint32_t len = be32(png, at);
        const std::string type = png.substr(at + 4, 4);
        types += type + " ";
        const std::string body = png.substr(at + 4, 4 + len);
        EXPECT_EQ(be32(png, at + 8 + len), crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))) << type;
        if (type == "IHDR") {
            EXPECT_EQ(be32(png, at + 8), 5u);
            EXPECT_EQ(be32(png, at + 12), 3u);
            EXPECT_EQ(png[at + 16], 8);  // bit depth
            EXPECT_EQ(png[at + 17], 2);  // RGB
        }
        if (type == "IDAT") idat += png.substr(at + 8, len);
        at += 12 + len;
    }
    EXPECT_EQ(types, "IHDR IDAT IEND ");
    std::string raw(3 * (1 + 15), '\0');
    uLongf raw_len = static_cast<uLongf>(raw.size());
    ASSERT_EQ(uncompress(reinterpret_cast<Bytef*>(raw.data()), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), static_cast<uLong>(idat.size())), Z_OK);
    ASSERT_EQ(raw_len, raw.size());
    for (int y = 0; y < 3; ++y) {
        EXPECT_EQ(raw[static_cast<std::size_t>(y * 16)], 0);  // filter: none
        for (int x = 0; x < 15; ++x)
            EXPECT_EQ(static_cast<std::uint8_t>(raw[static_cast<std::size_t>(y * 16 + 1 + x)]), im.pixels[static_cast<std::size_t>(y * 15 + x)]);
    }
}

TEST(Png, RejectsInconsistentImagesAndWritesAtomically) {
    Image bad;
    bad.width = 4;
    bad.height = 4;
    bad.pixels.resize(15);
    test::expect_error([&] { (void)encode_png(bad); }, {"PNG"});
    test::TempDir dir;
    Image ok;
    ok.width = ok.height = 2;
    ok.pixels = {0, 64, 128, 255};
    write_png(dir.path("a.png"), ok);
    EXPECT_EQ(read_file(dir.path("a.png")), encode_png(ok));
}

}  // namespace
}  // namespace nodulecad
