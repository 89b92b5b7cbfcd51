// Cross-check against ITK 5 (optional dependency, tests only): ITK reads what we write, we read what ITK writes,
// and our world <-> index maps agree with ITK's on flipped, permuted, oblique and reflected direction matrices.
#include <gtest/gtest.h>
#include <itkMetaImageIOFactory.h>

#include "nodulecad/io/metaimage.hpp"
#include "io/itk_helpers.hpp"
#include "io/metaimage_fixtures.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

using test::expect_same;
using test::itk_read;
using test::ItkImage;

class ItkCrossCheck : public ::testing::Test {
protected:
    static void SetUpTestSuite() { itk::MetaImageIOFactory::RegisterOneFactory(); }
};

template <class T> void itk_reads_ours(const std::string& dir, const std::string& tag) {
    for (const auto& [name, d] : test::test_directions())
        for (bool compress : {false, true})
            for (const char* ext : {".mhd", ".mha"}) {
                SCOPED_TRACE(tag + " " + name + (compress ? " z" : " raw") + ext);
                const auto v = test::patterned_volume<T>(test::small_geometry(d));
                const std::string path = dir + "/" + tag + name + (compress ? "z" : "r") + ext;
                WriteOptions w;
                w.compress = compress;
                write_metaimage(path, v, w);
                // ITK prints numbers with limited precision in its own headers but reads ours exactly.
                expect_same<T>(itk_read<T>(path).GetPointer(), v, 1e-12);
            }
}

TEST_F(ItkCrossCheck, ItkReadsWhatWeWrite) {
    test::TempDir dir;
    itk_reads_ours<std::int16_t>(dir.dir(), "short");
    itk_reads_ours<std::uint8_t>(dir.dir(), "uchar");
    itk_reads_ours<float>(dir.dir(), "float");
    itk_reads_ours<double>(dir.dir(), "double");
    itk_reads_ours<std::uint32_t>(dir.dir(), "uint");
}

template <class T> void we_read_itk(const std::string& dir, const std::string& tag) {
    for (const auto& [name, d] : test::test_directions())
        for (bool compress : {false, true})
            for (const char* ext : {".mhd", ".mha"}) {
                SCOPED_TRACE(tag + " " + name + (compress ? " z" : " raw") + ext);
                const auto v = test::patterned_volume<T>(test::small_geometry(d));
                const auto img = test::to_itk(v);
                const std::string path = dir + "/itk_" + tag + name + (compress ? "z" : "r") + ext;
                test::itk_write<T>(path, img.GetPointer(), compress);
                const Volume<T> ours = read_volume<T>(path);
                // ITK writes its header numbers with limited digits: geometry agrees to that precision.
                expect_same<T>(img.GetPointer(), ours, 1e-5);
            }
}

TEST_F(ItkCrossCheck, WeReadWhatItkWrites) {
    test::TempDir dir;
    we_read_itk<std::int16_t>(dir.dir(), "short");
    we_read_itk<std::int8_t>(dir.dir(), "char");
    we_read_itk<std::uint16_t>(dir.dir(), "ushort");
    we_read_itk<std::int32_t>(dir.dir(), "int");
    we_read_itk<float>(dir.dir(), "float");
}

TEST_F(ItkCrossCheck, WorldIndexMapsAgreeWithItk) {
    test::TempDir dir;
    for (const auto& [name, d] : test::test_directions()) {
        SCOPED_TRACE(name);
        const auto v = test::patterned_volume<std::int16_t>(test::small_geometry(d));
        write_metaimage(dir.path(name + ".mhd"), v);
        const auto img = itk_read<std::int16_t>(dir.path(name + ".mhd"));
        const IndexWorldTransform t(v.geometry);
        for (const Vec3 idx : {Vec3{0, 0, 0}, Vec3{6, 4, 2}, Vec3{1.25, -3.5, 10.75}}) {
            itk::ContinuousIndex<double, 3> ci;
            for (unsigned a = 0; a < 3; ++a) ci[a] = idx[a];
            itk::Point<double, 3> p;
            img->TransformContinuousIndexToPhysicalPoint(ci, p);
            const Vec3 w = t.to_world(idx);
            for (unsigned a = 0; a < 3; ++a) EXPECT_NEAR(w[a], p[a], 1e-9);
            const auto back = img->template TransformPhysicalPointToContinuousIndex<double, double>(p);
            const Vec3 ours = t.to_index(w);
            for (unsigned a = 0; a < 3; ++a) EXPECT_NEAR(ours[a], back[a], 1e-9);
        }
    }
}

}  // namespace
}  // namespace nodulecad
