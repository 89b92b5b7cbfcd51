// NIfTI-1/2 reading and writing (io/nifti): round trips, the RAS -> LPS flip, ITK's choice between qform and sform,
// scaling, byte order, and every bad input named. Headers for the rule tests are written here byte by byte from
// the NIfTI-1 layout, independently of the library's writer.
#include <gtest/gtest.h>

#include <zlib.h>

#include <cmath>
#include <cstring>

#include "io/metaimage_fixtures.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/io/image_file.hpp"
#include "nodulecad/io/nifti.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

// The fields of a hand-made NIfTI-1 file (int16 voxels unless said otherwise).
struct RawNifti {
    std::array<std::int16_t, 8> dim{3, 4, 3, 2, 1, 1, 1, 1};
    std::int16_t datatype = 4, bitpix = 16;
    std::array<float, 8> pixdim{1, 0.5f, 0.75f, 2.0f, 1, 1, 1, 1};
    float vox_offset = 352, slope = 0, inter = 0;
    std::int16_t qform_code = 0, sform_code = 0;
    std::array<float, 3> quatern{}, qoffset{};
    std::array<float, 12> srow{};
    std::string magic = std::string("n+1\0", 4);
    bool big_endian = false;
};

template <class T> void put(std::string& b, std::size_t at, T v, bool swap) {
    std::memcpy(b.data() + at, &v, sizeof v);
    if (swap) std::reverse(b.begin() + static_cast<long>(at), b.begin() + static_cast<long>(at + sizeof v));
}

// Header + 4 extension bytes + voxels 0, 1, 2, ... (int16).
std::string nifti1_file(const RawNifti& r) {
    std::string b(352, '\0');
    const bool s = r.big_endian;
    put<std::int32_t>(b, 0, 348, s);
    for (std::size_t i = 0; i < 8; ++i) put<std::int16_t>(b, 40 + 2 * i, r.dim[i], s);
    put<std::int16_t>(b, 70, r.datatype, s);
    put<std::int16_t>(b, 72, r.bitpix, s);
    for (std::size_t i = 0; i < 8; ++i) put<float>(b, 76 + 4 * i, r.pixdim[i], s);
    put<float>(b, 108, r.vox_offset, s);
    put<float>(b, 112, r.slope, s);
    put<float>(b, 116, r.inter, s);
    put<std::int16_t>(b, 252, r.qform_code, s);
    put<std::int16_t>(b, 254, r.sform_code, s);
    for (std::size_t i = 0; i < 3; ++i) put<float>(b, 256 + 4 * i, r.quatern[i], s);
    for (std::size_t i = 0; i < 3; ++i) put<float>(b, 268 + 4 * i, r.qoffset[i], s);
    for (std::size_t i = 0; i < 12; ++i) put<float>(b, 280 + 4 * i, r.srow[i], s);
    std::memcpy(b.data() + 344, r.magic.data(), 4);
    const std::int64_t n = std::int64_t{r.dim[1]} * r.dim[2] * r.dim[3];
    for (std::int64_t i = 0; i < n; ++i) {
        std::string v(static_cast<std::size_t>(r.bitpix / 8), '\0');
        if (r.bitpix == 16) put<std::int16_t>(v, 0, static_cast<std::int16_t>(i), s);
        b += v;
    }
    return b;
}

std::string gzip(const std::string& in) {
    z_stream zs{};
    deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    std::string out(in.size() + 1024, '\0');
    zs.next_in = reinterpret_cast<unsigned char*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<unsigned char*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

void expect_geometry_near(const Geometry& a, const Geometry& b, double tol) {
    EXPECT_EQ(a.size, b.size);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_NEAR(a.spacing[i], b.spacing[i], tol) << i;
        EXPECT_NEAR(a.origin[i], b.origin[i], tol) << i;
    }
    for (std::size_t i = 0; i < 9; ++i) EXPECT_NEAR(a.direction[i], b.direction[i], tol) << i;
}

template <class T> void round_trip(const test::TempDir& dir, const std::string& tag) {
    for (int version : {1, 2})
        for (const char* ending : {".nii", ".nii.gz"})
            for (const auto& [name, d] : test::test_directions()) {
                SCOPED_TRACE(tag + " NIfTI-" + std::to_string(version) + ending + " " + name);
                const Volume<T> v = test::patterned_volume<T>(test::small_geometry(d));
                const std::string path = dir.path(tag + name + std::to_string(version) + ending);
                write_nifti(path, v, version);
                NiftiInfo info;
                const AnyVolume back = read_nifti(path, std::uint64_t{1} << 30, &info);
                ASSERT_TRUE(std::holds_alternative<Volume<T>>(back));
                EXPECT_EQ(std::get<Volume<T>>(back).voxels, v.voxels);
                EXPECT_EQ(info.gzipped, std::string(ending) == ".nii.gz");
                EXPECT_EQ(info.placement.transform, "sform");
                // NIfTI-1 holds float32: its millimetres are good to 1e-5 at these magnitudes; NIfTI-2 holds doubles.
                expect_geometry_near(std::get<Volume<T>>(back).geometry, v.geometry, version == 1 ? 3e-5 : 1e-12);
            }
}

TEST(Nifti, EveryVoxelTypeRoundTripsOnEveryDirectionInBothVersionsAndGzipped) {
    test::TempDir dir;
    round_trip<std::uint8_t>(dir, "u8");
    round_trip<std::int8_t>(dir, "s8");
    round_trip<std::int16_t>(dir, "s16");
    round_trip<std::uint16_t>(dir, "u16");
    round_trip<std::int32_t>(dir, "s32");
    round_trip<std::uint32_t>(dir, "u32");
    round_trip<float>(dir, "f32");
    round_trip<double>(dir, "f64");
}

TEST(Nifti, RasBecomesLps) {
    test::TempDir dir;
    RawNifti r;
    r.sform_code = 1;
    r.srow = {0.5f, 0, 0, 10, 0, 0.75f, 0, 20, 0, 0, 2, 30};  // RAS: index axes along +x, +y, +z
    write_file_atomically(dir.path("ras.nii"), nifti1_file(r));
    NiftiInfo info;
    const Volume<std::int16_t> v = convert_volume<std::int16_t>(read_nifti(dir.path("ras.nii"), 1 << 20, &info));
    EXPECT_EQ(info.placement.transform, "sform");
    EXPECT_EQ(v.geometry.direction, (Mat3{-1, 0, 0, 0, -1, 0, 0, 0, 1}));
    EXPECT_EQ(v.geometry.origin, (Vec3{-10, -20, 30}));
    EXPECT_EQ(v.geometry.spacing, (Vec3{0.5, 0.75, 2}));
    EXPECT_EQ(v.geometry.size, (std::array<std::int64_t, 3>{4, 3, 2}));
    EXPECT_EQ(v.voxels[5], 5);
    // Voxel (1, 2, 1) is at RAS (10.5, 21.5, 32): LPS (-10.5, -21.5, 32).
    const Vec3 w = index_to_world(v.geometry, {1, 2, 1});
    EXPECT_NEAR(w[0], -10.5, 1e-12);
    EXPECT_NEAR(w[1], -21.5, 1e-12);
    EXPECT_NEAR(w[2], 32, 1e-12);
}

// The qform of a 180-degree turn about z (quaternion b, c, d = 0, 0, 1) at (1, 2, 3), and an sform of the identity
// at (10, 20, 30): the two disagree.
RawNifti both_forms(std::int16_t qform_code, std::int16_t sform_code) {
    RawNifti r;
    r.pixdim = {1, 1, 1, 1, 1, 1, 1, 1};
    r.qform_code = qform_code;
    r.sform_code = sform_code;
    r.quatern = {0, 0, 1};
    r.qoffset = {1, 2, 3};
    r.srow = {1, 0, 0, 10, 0, 1, 0, 20, 0, 0, 1, 30};
    return r;
}

std::string chosen(const test::TempDir& dir, const RawNifti& r, const std::string& name, Vec3* origin = nullptr) {
    write_file_atomically(dir.path(name), nifti1_file(r));
    NiftiInfo info;
    const AnyVolume v = read_nifti(dir.path(name), 1 << 20, &info);
    if (origin) *origin = geometry_of(v).origin;
    return info.placement.transform;
}

TEST(Nifti, SformOrQformChosenAsItkDoes) {
    test::TempDir dir;
    Vec3 o;
    EXPECT_EQ(chosen(dir, both_forms(1, 1), "scanner.nii", &o), "sform");  // sform SCANNER_ANAT wins
    EXPECT_EQ(o, (Vec3{-10, -20, 30}));
    EXPECT_EQ(chosen(dir, both_forms(1, 2), "aligned.nii", &o), "qform");  // another space, disagreeing: the qform
    EXPECT_EQ(o, (Vec3{-1, -2, 3}));
    EXPECT_EQ(chosen(dir, both_forms(1, 0), "qonly.nii"), "qform");
    EXPECT_EQ(chosen(dir, both_forms(0, 2), "sonly.nii"), "sform");
    RawNifti agree = both_forms(1, 2);
    agree.quatern = {0, 0, 0};
    agree.qoffset = {10, 20, 30};
    EXPECT_EQ(chosen(dir, agree, "agree.nii"), "sform");  // the same transform twice: the sform
    RawNifti shear = both_forms(1, 1);
    shear.srow[1] = 0.5f;  // x depends on j: shear
    EXPECT_EQ(chosen(dir, shear, "shear.nii"), "qform");
    // The qform's turn: direction diag(-1, -1, 1) in RAS, which is the identity in LPS.
    write_file_atomically(dir.path("q.nii"), nifti1_file(both_forms(1, 0)));
    EXPECT_EQ(geometry_of(read_nifti(dir.path("q.nii"))).direction, identity3());
    // Neither: identity at the origin, with a warning.
    NiftiInfo info;
    write_file_atomically(dir.path("none.nii"), nifti1_file(RawNifti{}));
    const AnyVolume none = read_nifti(dir.path("none.nii"), 1 << 20, &info);
    EXPECT_EQ(info.placement.transform, "none");
    ASSERT_EQ(info.placement.warnings.size(), 1u);
    EXPECT_NE(info.placement.warnings[0].find("neither qform nor sform"), std::string::npos);
    EXPECT_EQ(geometry_of(none).direction, identity3());
}

TEST(Nifti, QfacFlipsTheThirdAxis) {
    test::TempDir dir;
    RawNifti r = both_forms(1, 0);
    r.quatern = {0, 0, 0};
    r.pixdim[0] = -1;
    write_file_atomically(dir.path("qfac.nii"), nifti1_file(r));
    EXPECT_EQ(geometry_of(read_nifti(dir.path("qfac.nii"))).direction, (Mat3{-1, 0, 0, 0, -1, 0, 0, 0, -1}));
}

TEST(Nifti, ScalingGivesFloatAndBigEndianFilesRead) {
    test::TempDir dir;
    RawNifti r;
    r.slope = 2;
    r.inter = -1024;
    write_file_atomically(dir.path("scaled.nii"), nifti1_file(r));
    const AnyVolume v = read_nifti(dir.path("scaled.nii"));
    ASSERT_TRUE(std::holds_alternative<Volume<float>>(v));
    EXPECT_EQ(std::get<Volume<float>>(v).voxels[3], 2 * 3 - 1024);
    r.slope = 1;
    r.inter = 0;  // the identity: stored type kept
    write_file_atomically(dir.path("plain.nii"), nifti1_file(r));
    EXPECT_TRUE(std::holds_alternative<Volume<std::int16_t>>(read_nifti(dir.path("plain.nii"))));
    r.big_endian = true;
    write_file_atomically(dir.path("big.nii"), nifti1_file(r));
    NiftiInfo info;
    const AnyVolume big = read_nifti(dir.path("big.nii"), 1 << 20, &info);
    EXPECT_TRUE(info.header.swapped);
    EXPECT_EQ(std::get<Volume<std::int16_t>>(big).voxels[7], 7);
    // read_ct rounds scaled floats to HU.
    r.big_endian = false;
    r.slope = 0.5f;
    r.inter = -0.25f;
    write_file_atomically(dir.path("half.nii"), nifti1_file(r));
    const Volume<std::int16_t> hu = read_ct(dir.path("half.nii"));
    EXPECT_EQ(hu.voxels[3], 1);   // 1.25 -> 1
    EXPECT_EQ(hu.voxels[6], 3);   // 2.75 -> 3
}

TEST(Nifti, BadFilesAreOneLineErrors) {
    test::TempDir dir;
    const auto bad = [&](RawNifti r, const std::vector<std::string>& words) {
        write_file_atomically(dir.path("bad.nii"), nifti1_file(r));
        test::expect_error([&] { (void)read_nifti(dir.path("bad.nii")); }, words);
    };
    RawNifti r;
    r.vox_offset = 100000;
    bad(r, {"bad.nii", "truncated data", "vox_offset 100000"});
    r = RawNifti{};
    r.vox_offset = 200;
    bad(r, {"vox_offset 200", "348-byte header"});
    r = RawNifti{};
    r.dim = {5, 4, 3, 2, 1, 2, 1, 1};
    bad(r, {"5D data", "dim[5] = 2"});
    r = RawNifti{};
    r.dim = {4, 4, 3, 2, 3, 1, 1, 1};
    bad(r, {"4D data with 3 volumes"});
    r = RawNifti{};
    r.pixdim[2] = 0;
    bad(r, {"pixdim[2]", "must be positive"});
    r = RawNifti{};
    r.datatype = 32;
    r.bitpix = 64;
    bad(r, {"complex64 is not supported"});
    r = RawNifti{};
    r.bitpix = 8;
    bad(r, {"bitpix 8 does not match datatype int16"});
    r = RawNifti{};
    r.magic = std::string("ni1\0", 4);
    bad(r, {"two-file NIfTI"});
    write_file_atomically(dir.path("junk.nii"), std::string(400, 'x'));
    test::expect_error([&] { (void)read_nifti(dir.path("junk.nii")); }, {"junk.nii", "not a NIfTI file"});
    // A gzip stream cut short.
    const std::string gz = gzip(nifti1_file(RawNifti{}));
    write_file_atomically(dir.path("cut.nii.gz"), gz.substr(0, gz.size() / 2));
    test::expect_error([&] { (void)read_nifti(dir.path("cut.nii.gz")); }, {"cut.nii.gz", "truncated gzip data"});
    write_file_atomically(dir.path("whole.nii.gz"), gz);
    EXPECT_EQ(std::get<Volume<std::int16_t>>(read_nifti(dir.path("whole.nii.gz"))).voxels[9], 9);
    // The memory limit is checked before allocating.
    test::expect_error([&] { (void)read_nifti(dir.path("whole.nii.gz"), 10); }, {"memory limit"});
}

TEST(Nifti, PathsAndStems) {
    EXPECT_TRUE(is_nifti_path("a/b.nii"));
    EXPECT_TRUE(is_nifti_path("a/b.nii.gz"));
    EXPECT_FALSE(is_nifti_path("a/b.mhd"));
    EXPECT_FALSE(is_nifti_path(".nii"));
    EXPECT_EQ(nifti_stem("x/1.2.3.nii.gz"), "1.2.3");
    EXPECT_EQ(nifti_stem("x/scan.nii"), "scan");
}

}  // namespace
}  // namespace nodulecad
