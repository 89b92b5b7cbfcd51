#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "nodulecad/core/files.hpp"
#include "nodulecad/io/npy.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

// Bytes exactly as numpy 1.24 writes np.arange(6, dtype='<i2').reshape(2, 3) with np.save (format 1.0).
std::string numpy_i2_2x3() {
    std::string header = "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }";
    header.append(128 - 10 - header.size() - 1, ' ');
    header += '\n';
    std::string out("\x93NUMPY\x01\x00", 8);
    out += static_cast<char>(header.size());
    out += '\0';
    out += header;
    for (std::int16_t v = 0; v < 6; ++v) out.append(reinterpret_cast<const char*>(&v), 2);
    return out;
}

TEST(Npy, ParsesNumpyWrittenBytes) {
    const std::string bytes = numpy_i2_2x3();
    const NpyHeader h = parse_npy_header(bytes, "a.npy");
    EXPECT_EQ(h.major_version, 1);
    EXPECT_EQ(h.dtype, ElementType::Int16);
    EXPECT_EQ(h.shape, (std::vector<std::int64_t>{2, 3}));
    EXPECT_EQ(h.data_offset, 128u);
    const auto a = parse_npy<std::int16_t>(bytes, "a.npy");
    EXPECT_EQ(a.data, (std::vector<std::int16_t>{0, 1, 2, 3, 4, 5}));
    const auto f = parse_npy<float>(bytes, "a.npy");  // converted on read
    EXPECT_EQ(f.data[5], 5.0f);
}

TEST(Npy, VersionTwoBigEndianAndOneDimensional) {
    std::string header = "{\"descr\": \">f4\", \"fortran_order\": False, \"shape\": (3,)}";
    header.append(128 - 12 - header.size() - 1, ' ');
    header += '\n';
    std::string bytes("\x93NUMPY\x02\x00", 8);
    const auto len = static_cast<std::uint32_t>(header.size());
    bytes.append(reinterpret_cast<const char*>(&len), 4);
    bytes += header;
    for (float v : {1.5f, -2.0f, 1e-3f}) {
        char b[4];
        std::memcpy(b, &v, 4);
        std::reverse(b, b + 4);
        bytes.append(b, 4);
    }
    const auto a = parse_npy<float>(bytes, "be.npy");
    EXPECT_EQ(a.shape, (std::vector<std::int64_t>{3}));
    EXPECT_EQ(a.data, (std::vector<float>{1.5f, -2.0f, 1e-3f}));
}

TEST(Npy, WriteReadRoundTripsAndMatchesNumpyLayout) {
    test::TempDir dir;
    const std::vector<float> f{0.f, 0.25f, -1.f, 3.5f, 1e-7f, 7.f};
    write_npy(dir.path("f.npy"), {1, 2, 3}, f);
    const std::string raw = read_file(dir.path("f.npy"));
    EXPECT_EQ(raw.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
    EXPECT_EQ((raw.size() - f.size() * 4) % 64, 0u);  // header padded to 64 bytes like NumPy
    EXPECT_NE(raw.find("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }"), std::string::npos);
    const auto back = read_npy<float>(dir.path("f.npy"));
    EXPECT_EQ(back.shape, (std::vector<std::int64_t>{1, 2, 3}));
    EXPECT_EQ(back.data, f);

    const std::vector<std::uint8_t> u{0, 1, 255};
    write_npy(dir.path("u.npy"), {3}, u);
    EXPECT_NE(read_file(dir.path("u.npy")).find("'descr': '|u1'"), std::string::npos);
    EXPECT_NE(read_file(dir.path("u.npy")).find("'shape': (3,)"), std::string::npos);
    EXPECT_EQ(read_npy<std::uint8_t>(dir.path("u.npy")).data, u);

    const std::vector<std::int16_t> s{-1000, 400};
    write_npy(dir.path("s.npy"), {2, 1}, s);
    EXPECT_EQ(read_npy<std::int16_t>(dir.path("s.npy")).data, s);

    write_npy(dir.path("scalar.npy"), {}, std::vector<double>{2.5});
    const auto sc = read_npy<double>(dir.path("scalar.npy"));
    EXPECT_TRUE(sc.shape.empty());
    EXPECT_EQ(sc.data, (std::vector<double>{2.5}));
}

TEST(Npy, LongShapeUsesVersionTwo) {
    const std::vector<std::int64_t> shape(30000, 1);  // 'shape': (1, 1, ...) is > 65535 characters
    const std::string h = format_npy_header(ElementType::UInt8, shape);
    EXPECT_EQ(h[6], '\x02');
    EXPECT_EQ(h.size() % 64, 0u);
    const NpyHeader back = parse_npy_header(h + std::string(1, '\0'), "v2.npy");
    EXPECT_EQ(back.shape.size(), 30000u);
}

TEST(Npy, HalfFloatsConvertExactly) {
    EXPECT_EQ(float_to_half(1.0f), 0x3c00);
    EXPECT_EQ(float_to_half(-2.0f), 0xc000);
    EXPECT_EQ(float_to_half(65504.0f), 0x7bff);           // largest half
    EXPECT_EQ(float_to_half(70000.0f), 0x7c00);           // overflow -> inf
    EXPECT_EQ(float_to_half(5.9604645e-8f), 0x0001);      // smallest subnormal
    EXPECT_EQ(float_to_half(1.0f + 1.0f / 2048), 0x3c00);  // halfway, rounds to even
    EXPECT_EQ(float_to_half(1.0f + 3.0f / 2048), 0x3c02);  // halfway, rounds to even (up)
    EXPECT_EQ(half_to_float(0x3555), 0.333251953125f);
    EXPECT_EQ(half_to_float(0x0001), 5.9604645e-8f);
    EXPECT_TRUE(std::isnan(half_to_float(float_to_half(std::nanf("")))));
    // Every half value survives half -> float -> half.
    for (std::uint32_t h = 0; h < 0x10000; ++h) {
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue;  // NaN payloads
        ASSERT_EQ(float_to_half(half_to_float(static_cast<std::uint16_t>(h))), h);
    }
}

TEST(Npy, ReadsFloat16Arrays) {
    std::string bytes = format_npy_header(std::string("<f2"), {3});
    for (float v : {0.5f, -1.25f, 1000.0f}) {
        const std::uint16_t h = float_to_half(v);
        bytes += static_cast<char>(h & 0xff);
        bytes += static_cast<char>(h >> 8);
    }
    const NpyHeader hd = parse_npy_header(bytes, "h.npy");
    EXPECT_TRUE(hd.float16);
    EXPECT_EQ(npy_element_size(hd), 2u);
    EXPECT_EQ(parse_npy<float>(bytes, "h.npy").data, (std::vector<float>{0.5f, -1.25f, 1000.0f}));
}

TEST(Npy, Errors) {
    const std::string good = numpy_i2_2x3();
    test::expect_error([] { (void)parse_npy_header("PK\x03\x04 not npy", "z.npy"); }, {"z.npy", "magic"});
    test::expect_error([&] { (void)parse_npy<std::int16_t>(good.substr(0, good.size() - 1), "t.npy"); },
                       {"t.npy", "truncated", "needs 12 bytes", "holds 11"});
    test::expect_error([&] { (void)parse_npy_header(good.substr(0, 50), "h.npy"); }, {"h.npy", "truncated inside its header"});
    std::string fortran = good;
    fortran.replace(fortran.find("False"), 5, "True ");
    test::expect_error([&] { (void)parse_npy_header(fortran, "f.npy"); }, {"f.npy", "Fortran-order"});
    std::string complex = good;
    complex.replace(complex.find("<i2"), 3, "<c8");
    test::expect_error([&] { (void)parse_npy_header(complex, "c.npy"); }, {"c.npy", "unsupported dtype '<c8'"});
    std::string huge = good;
    huge.replace(huge.find("(2, 3)"), 6, "(99999, 99999, 9999)");
    test::expect_error([&] { (void)parse_npy<std::int16_t>(huge, "b.npy"); }, {"b.npy", "memory limit"});
    test::TempDir dir;
    test::expect_error([&] { write_npy(dir.path("w.npy"), {2, 2}, std::vector<float>{1, 2, 3}); }, {"holds 4 elements", "has 3"});
    test::write_text(dir.path("trunc.npy"), good.substr(0, 130));
    test::expect_error([&] { (void)read_npy<std::int16_t>(dir.path("trunc.npy")); }, {"trunc.npy", "truncated", "holds 2"});
}

}  // namespace
}  // namespace nodulecad
