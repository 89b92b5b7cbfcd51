// NIfTI and DICOM against ITK 5 (tests only): ITK reads the NIfTI files and DICOM series we write to the same
// geometry and voxels we read back, and we read the NIfTI files ITK writes — on identity, flipped, permuted, oblique
// and (NIfTI) reflected direction matrices. The geometry tolerance is 1e-6 mm between the two readers of one file;
// against the volume that was written it is the storage's own precision (NIfTI-1 keeps float32, DICOM decimal
// strings of 16 characters).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <itkGDCMImageIO.h>
#include <itkGDCMImageIOFactory.h>
#include <itkGDCMSeriesFileNames.h>
#include <itkImageSeriesReader.h>
#include <itkImageSeriesWriter.h>
#include <itkMetaDataObject.h>
#include <itkNiftiImageIOFactory.h>

#include "io/itk_helpers.hpp"
#include "io/metaimage_fixtures.hpp"
#include "nodulecad/core/geometry.hpp"
#include "nodulecad/io/dicom.hpp"
#include "nodulecad/io/image_file.hpp"
#include "nodulecad/io/nifti.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

using test::expect_same;
using test::itk_read;
using test::ItkImage;

class ItkNiftiDicom : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        itk::NiftiImageIOFactory::RegisterOneFactory();
        itk::GDCMImageIOFactory::RegisterOneFactory();
    }
};

void expect_near_geometry(const Geometry& a, const Geometry& b, double tol) {
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(a.size[i], b.size[i]);
        EXPECT_NEAR(a.spacing[i], b.spacing[i], tol);
        EXPECT_NEAR(a.origin[i], b.origin[i], tol);
    }
    for (int i = 0; i < 9; ++i) EXPECT_NEAR(a.direction[i], b.direction[i], tol);
}

template <class T> void itk_reads_our_nifti(const std::string& dir, const std::string& tag) {
    for (const auto& [name, d] : test::test_directions())
        for (const char* ext : {".nii", ".nii.gz"}) {
            // NIfTI-1 only: Debian 12's ITK 5.2 does not read NIfTI-2 (test_nifti checks version 2 on its own).
            SCOPED_TRACE(tag + " " + name + ext);
            const auto v = test::patterned_volume<T>(test::small_geometry(d));
            const std::string path = dir + "/" + tag + name + ext;
            write_nifti(path, v, 1);
            const Volume<T> ours = read_image_as<T>(path);
            expect_same<T>(itk_read<T>(path).GetPointer(), ours, 1e-6);
            // NIfTI-1 keeps float32: the geometry to that precision on coordinates of a few hundred mm.
            expect_near_geometry(ours.geometry, v.geometry, 1e-4);
        }
}

TEST_F(ItkNiftiDicom, ItkReadsOurNiftiAsWeDo) {
    test::TempDir dir;
    itk_reads_our_nifti<std::int16_t>(dir.dir(), "short");
    itk_reads_our_nifti<std::uint8_t>(dir.dir(), "uchar");
    itk_reads_our_nifti<float>(dir.dir(), "float");
}

template <class T> void we_read_itk_nifti(const std::string& dir, const std::string& tag) {
    for (const auto& [name, d] : test::test_directions())
        for (const char* ext : {".nii", ".nii.gz"}) {
            SCOPED_TRACE(tag + " " + name + ext);
            const auto v = test::patterned_volume<T>(test::small_geometry(d));
            const std::string path = dir + "/itk_" + tag + name + ext;
            test::itk_write<T>(path, test::to_itk(v).GetPointer());
            const Volume<T> ours = read_image_as<T>(path);
            expect_same<T>(itk_read<T>(path).GetPointer(), ours, 1e-6);
            expect_near_geometry(ours.geometry, v.geometry, 1e-4);
        }
}

TEST_F(ItkNiftiDicom, WeReadItksNiftiAsItDoes) {
    test::TempDir dir;
    we_read_itk_nifti<std::int16_t>(dir.dir(), "short");
    we_read_itk_nifti<float>(dir.dir(), "float");
}

ItkImage<std::int16_t>::Pointer itk_read_dicom_series(const std::string& folder) {
    auto names = itk::GDCMSeriesFileNames::New();
    names->SetDirectory(folder);
    const auto uids = names->GetSeriesUIDs();
    EXPECT_EQ(uids.size(), 1u);
    auto reader = itk::ImageSeriesReader<ItkImage<std::int16_t>>::New();
    reader->SetImageIO(itk::GDCMImageIO::New());
    reader->SetFileNames(names->GetFileNames(uids.at(0)));
    reader->Update();
    return reader->GetOutput();
}

TEST_F(ItkNiftiDicom, ItkReadsOurDicomSeriesAsWeDo) {
    if (!dicom_supported()) GTEST_SKIP() << "this build has no GDCM";
    test::TempDir dir;
    int n = 0;
    for (const auto& [name, d] : test::test_directions()) {
        if (determinant(d) < 0) continue;  // DICOM has no reflections: such a scan is re-indexed (test_dicom)
        for (bool unsigned_storage : {false, true}) {
            SCOPED_TRACE(name + (unsigned_storage ? " unsigned" : " signed"));
            auto v = test::patterned_volume<std::int16_t>(test::small_geometry(d));
            for (auto& x : v.voxels) x = static_cast<std::int16_t>(x % 3000);  // a CT's range
            const std::string folder = dir.path("s" + std::to_string(n));
            DicomWriteOptions w;
            w.series_uid = "2.25.1234." + std::to_string(++n);
            w.unsigned_storage = unsigned_storage;
            w.reverse_file_order = (n % 2) == 0;
            write_dicom_series(folder, v, w);
            const auto ours = read_dicom_series(folder);
            expect_same<std::int16_t>(itk_read_dicom_series(folder).GetPointer(), ours, 1e-6);
            EXPECT_EQ(ours.voxels, v.voxels);
            expect_near_geometry(ours.geometry, v.geometry, 1e-9);
        }
    }
}

std::string ds(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
}

// ITK's own DICOM writer (GDCMImageIO through ImageSeriesWriter), one CT image per slice with the tags a scanner
// would set per slice: position, orientation, modality, series uid.
void itk_write_dicom_series(const Volume<std::int16_t>& v, const std::string& folder, const std::string& uid) {
    std::filesystem::create_directories(folder);
    const auto img = test::to_itk(v);
    auto io = itk::GDCMImageIO::New();
    io->KeepOriginalUIDOn();
    using Writer = itk::ImageSeriesWriter<ItkImage<std::int16_t>, itk::Image<std::int16_t, 2>>;
    auto writer = Writer::New();
    writer->SetInput(img);
    writer->SetImageIO(io);
    Writer::DictionaryArrayType dicts;
    std::vector<std::unique_ptr<itk::MetaDataDictionary>> owned;
    std::vector<std::string> names;
    const IndexWorldTransform t(v.geometry);
    const Mat3& d = v.geometry.direction;
    const std::string orientation = ds(d[0]) + "\\" + ds(d[3]) + "\\" + ds(d[6]) + "\\" + ds(d[1]) + "\\" + ds(d[4]) + "\\" + ds(d[7]);
    for (std::int64_t k = 0; k < v.geometry.size[2]; ++k) {
        auto dict = std::make_unique<itk::MetaDataDictionary>();
        const Vec3 p = t.to_world({0, 0, static_cast<double>(k)});
        itk::EncapsulateMetaData<std::string>(*dict, "0008|0016", "1.2.840.10008.5.1.4.1.1.2");  // CT Image Storage
        itk::EncapsulateMetaData<std::string>(*dict, "0008|0018", uid + "." + std::to_string(k + 1));
        itk::EncapsulateMetaData<std::string>(*dict, "0008|0060", "CT");
        itk::EncapsulateMetaData<std::string>(*dict, "0020|000e", uid);
        itk::EncapsulateMetaData<std::string>(*dict, "0020|000d", uid + ".9");
        itk::EncapsulateMetaData<std::string>(*dict, "0020|0013", std::to_string(k + 1));
        itk::EncapsulateMetaData<std::string>(*dict, "0020|0032", ds(p[0]) + "\\" + ds(p[1]) + "\\" + ds(p[2]));
        itk::EncapsulateMetaData<std::string>(*dict, "0020|0037", orientation);
        itk::EncapsulateMetaData<std::string>(*dict, "0028|0030", ds(v.geometry.spacing[1]) + "\\" + ds(v.geometry.spacing[0]));
        itk::EncapsulateMetaData<std::string>(*dict, "0018|0050", ds(v.geometry.spacing[2]));
        dicts.push_back(dict.get());
        owned.push_back(std::move(dict));
        names.push_back(folder + "/slice" + std::to_string(k) + ".dcm");
    }
    writer->SetMetaDataDictionaryArray(&dicts);
    writer->SetFileNames(names);
    writer->Update();
}

TEST_F(ItkNiftiDicom, WeReadItksDicomSeriesAsItDoes) {
    if (!dicom_supported()) GTEST_SKIP() << "this build has no GDCM";
    test::TempDir dir;
    int n = 0;
    for (const auto& [name, d] : test::test_directions()) {
        if (determinant(d) < 0) continue;
        SCOPED_TRACE(name);
        auto v = test::patterned_volume<std::int16_t>(test::small_geometry(d));
        for (auto& x : v.voxels) x = static_cast<std::int16_t>(x % 3000);
        const std::string folder = dir.path("itk" + std::to_string(++n));
        itk_write_dicom_series(v, folder, "2.25.777." + std::to_string(n));
        const auto ours = read_dicom_series(folder);
        expect_same<std::int16_t>(itk_read_dicom_series(folder).GetPointer(), ours, 1e-6);
        EXPECT_EQ(ours.voxels, v.voxels);
        expect_near_geometry(ours.geometry, v.geometry, 1e-6);
    }
}

}  // namespace
}  // namespace nodulecad
