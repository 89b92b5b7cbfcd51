#include <gtest/gtest.h>

#include <zlib.h>

#include <random>

#include "nodulecad/io/metaimage.hpp"
#include "io/metaimage_fixtures.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

const std::string kHeader = "NDims = 3\nDimSize = 7 5 3\nElementType = MET_SHORT\n";  // 210 bytes of data

TEST(MetaImageErrors, DataFileShorterThanPromised) {
    test::TempDir dir;
    test::write_text(dir.path("s.raw"), std::string(200, '\0'));
    test::write_text(dir.path("s.mhd"), kHeader + "ElementDataFile = s.raw\n");
    test::expect_error([&] { (void)read_metaimage(dir.path("s.mhd")); },
                       {"s.raw", "too short", "7x5x3 MET_SHORT", "needs 210 bytes", "holds 200 bytes"});
    test::write_text(dir.path("t.mhd"), kHeader + "HeaderSize = -1\nElementDataFile = s.raw\n");
    test::expect_error([&] { (void)read_metaimage(dir.path("t.mhd")); }, {"s.raw", "holds 200 bytes", "needs 210"});
    test::write_text(dir.path("u.mhd"), kHeader + "HeaderSize = 500\nElementDataFile = s.raw\n");
    test::expect_error([&] { (void)read_metaimage(dir.path("u.mhd")); }, {"s.raw", "less than the header offset 500"});
}

TEST(MetaImageErrors, SizesThatOverflowOrExceedTheLimitFailBeforeAllocating) {
    test::TempDir dir;
    test::write_text(dir.path("huge.mhd"),
                     "NDims = 3\nDimSize = 4294967296 4294967296 4294967296\nElementType = MET_DOUBLE\nElementDataFile = x.raw\n");
    test::expect_error([&] { (void)read_metaimage(dir.path("huge.mhd")); }, {"huge.mhd", "overflows"});
    test::write_text(dir.path("big.mhd"),
                     "NDims = 3\nDimSize = 100000 100000 1000\nElementType = MET_SHORT\nElementDataFile = x.raw\n");
    test::expect_error([&] { (void)read_metaimage(dir.path("big.mhd")); },
                       {"big.mhd", "needs 20000000000000 bytes", "memory limit"});
    // A small configured limit applies to ordinary sizes too.
    test::write_text(dir.path("s.raw"), std::string(210, '\0'));
    test::write_text(dir.path("s.mhd"), kHeader + "ElementDataFile = s.raw\n");
    ReadOptions opts;
    opts.max_bytes = 100;
    test::expect_error([&] { (void)read_metaimage(dir.path("s.mhd"), opts); }, {"needs 210 bytes", "limit of 100 bytes"});
    opts.max_bytes = 210;
    EXPECT_NO_THROW((void)read_metaimage(dir.path("s.mhd"), opts));
}

TEST(MetaImageErrors, MissingFiles) {
    test::TempDir dir;
    test::expect_error([&] { (void)read_metaimage(dir.path("none.mhd")); }, {"none.mhd", "not found"});
    test::write_text(dir.path("a.mhd"), kHeader + "ElementDataFile = gone.raw\n");
    test::expect_error([&] { (void)read_metaimage(dir.path("a.mhd")); }, {"gone.raw", "not found", "ElementDataFile"});
    test::expect_error([&] { (void)read_metaimage(dir.dir()); }, {"is a directory"});
}

std::string zlib(const std::string& data) {
    uLongf len = compressBound(static_cast<uLong>(data.size()));
    std::string out(len, '\0');
    compress2(reinterpret_cast<Bytef*>(out.data()), &len, reinterpret_cast<const Bytef*>(data.data()),
              static_cast<uLong>(data.size()), 6);
    out.resize(len);
    return out;
}

TEST(MetaImageErrors, CorruptCompressedData) {
    test::TempDir dir;
    const std::string good = zlib(std::string(210, '\x01'));
    const auto write_case = [&](const std::string& name, const std::string& data, bool with_size) {
        test::write_text(dir.path(name + ".zraw"), data);
        test::write_text(dir.path(name + ".mhd"),
                         kHeader + "CompressedData = True\n" +
                             (with_size ? "CompressedDataSize = " + std::to_string(data.size()) + "\n" : "") +
                             "ElementDataFile = " + name + ".zraw\n");
        return dir.path(name + ".mhd");
    };
    EXPECT_EQ(read_volume<std::int16_t>(write_case("ok", good, true)).voxels[0], 0x0101);
    EXPECT_EQ(read_volume<std::int16_t>(write_case("nosize", good, false)).voxels[0], 0x0101);
    test::expect_error([&] { (void)read_metaimage(write_case("garbage", std::string(300, 'Q'), true)); },
                       {"garbage.zraw", "corrupt compressed data"});
    test::expect_error([&] { (void)read_metaimage(write_case("trunc", good.substr(0, good.size() / 2), true)); },
                       {"trunc.zraw", "truncated"});
    test::expect_error([&] { (void)read_metaimage(write_case("short", zlib(std::string(100, '\x01')), true)); },
                       {"short.zraw", "decompresses to 100 bytes, expected 210"});
    test::expect_error([&] { (void)read_metaimage(write_case("long", zlib(std::string(400, '\x01')), true)); },
                       {"long.zraw", "more than the 210 bytes"});
    std::string flipped = good;
    flipped[flipped.size() - 1] ^= 0x55;  // breaks the adler32 check
    test::expect_error([&] { (void)read_metaimage(write_case("check", flipped, true)); }, {"check.zraw", "corrupt"});
    // CompressedDataSize larger than the file.
    test::write_text(dir.path("big.mhd"), kHeader + "CompressedData = True\nCompressedDataSize = 99999\nElementDataFile = ok.zraw\n");
    test::expect_error([&] { (void)read_metaimage(dir.path("big.mhd")); }, {"ok.zraw", "CompressedDataSize is 99999"});
}

TEST(MetaImageErrors, GarbageAndEmptyFiles) {
    test::TempDir dir;
    test::write_text(dir.path("empty.mhd"), "");
    test::expect_error([&] { (void)read_metaimage(dir.path("empty.mhd")); }, {"empty.mhd", "empty file"});
    std::mt19937 rng(1);
    for (int trial = 0; trial < 50; ++trial) {
        std::string junk(static_cast<std::size_t>(1 + rng() % 2000), '\0');
        for (char& c : junk) c = static_cast<char>(rng());
        test::write_text(dir.path("junk.mhd"), junk);
        test::expect_error([&] { (void)read_metaimage(dir.path("junk.mhd")); }, {"junk.mhd"});
    }
}

TEST(MetaImageErrors, WriterRejectsInconsistentInput) {
    test::TempDir dir;
    auto v = test::patterned_volume<std::int16_t>(test::small_geometry());
    test::expect_error([&] { write_metaimage(dir.path("x.nii"), v); }, {"x.nii", ".mhd or .mha"});
    WriteOptions two_d;
    two_d.ndims = 2;
    test::expect_error([&] { write_metaimage(dir.path("x.mhd"), v, two_d); }, {"one slice"});
    v.voxels.pop_back();
    test::expect_error([&] { write_metaimage(dir.path("x.mhd"), v); }, {"holds 104 voxels", "105"});
    auto w = test::patterned_volume<std::int16_t>(test::small_geometry());
    w.geometry.spacing[0] = -1;
    test::expect_error([&] { write_metaimage(dir.path("x.mhd"), w); }, {"spacing along i"});
    test::expect_error([&] { write_metaimage(dir.path("missing/dir/x.mhd"), test::patterned_volume<std::int16_t>(test::small_geometry())); },
                       {"cannot create"});
}

}  // namespace
}  // namespace nodulecad
