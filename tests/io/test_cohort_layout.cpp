// Finding a cohort's scans in every format and layout: LUNA16 subsets, NIfTI files, DICOM series in nested folders
// (as LIDC-IDRI ships them), one scan given directly; predictions and masks by stem in any format.
#include <gtest/gtest.h>

#include <filesystem>

#include "io/metaimage_fixtures.hpp"
#include "nodulecad/io/cohort_layout.hpp"
#include "nodulecad/io/dicom.hpp"
#include "nodulecad/io/image_file.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/io/nifti.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

namespace fs = std::filesystem;

Volume<std::int16_t> small_ct() {
    auto v = test::patterned_volume<std::int16_t>(test::small_geometry());
    for (auto& x : v.voxels) x = static_cast<std::int16_t>(x % 2000 - 1000);
    return v;
}

TEST(CohortLayout, EveryFormatInSubsetsAndNestedDicomFolders) {
    test::TempDir dir;
    const auto v = small_ct();
    fs::create_directories(dir.path("c/subset0"));
    fs::create_directories(dir.path("c/subset1"));
    write_metaimage(dir.path("c/subset0/1.2.3.mhd"), v);
    write_nifti(dir.path("c/subset1/1.2.4.nii.gz"), v);
    write_nifti(dir.path("c/1.2.5.nii"), v);
    fs::create_directories(dir.path("c/truth"));
    write_metaimage(dir.path("c/truth/1.2.3_lungs.mhd"), Volume<std::uint8_t>(v.geometry, 1));  // not in a subset: no scan
    const bool dicom = dicom_supported();
    if (dicom) {
        DicomWriteOptions w;
        w.series_uid = "1.2.6";
        write_dicom_series(dir.path("c/LIDC-0001/study/series"), v, w);  // LIDC-IDRI's patient/study/series folders
        w.series_uid = "1.2.7";
        write_dicom_series(dir.path("c/subset2/1.2.7"), v, w);
    }
    const auto scans = find_scans(dir.path("c"));
    ASSERT_EQ(scans.size(), dicom ? 5u : 3u);
    EXPECT_EQ(scans[0].uid, "1.2.3");
    EXPECT_EQ(scans[0].subset, 0);
    EXPECT_EQ(scans[1].uid, "1.2.4");
    EXPECT_EQ(scans[1].subset, 1);
    EXPECT_EQ(scans[2].uid, "1.2.5");
    EXPECT_EQ(scans[2].subset, -1);
    for (const auto& s : scans) EXPECT_EQ(read_scan(s).voxels, v.voxels) << s.path;
    if (dicom) {
        EXPECT_EQ(scans[3].uid, "1.2.6");
        EXPECT_EQ(scans[3].series, "1.2.6");
        EXPECT_EQ(scans[4].subset, 2);
        // One series folder given directly: that series.
        const auto one = find_scans(dir.path("c/LIDC-0001/study/series"));
        ASSERT_EQ(one.size(), 1u);
        EXPECT_EQ(one[0].uid, "1.2.6");
    }
    const auto file = find_scans(dir.path("c/subset1/1.2.4.nii.gz"));
    ASSERT_EQ(file.size(), 1u);
    EXPECT_EQ(file[0].uid, "1.2.4");
}

TEST(CohortLayout, TheSameUidTwiceAndEmptyFoldersAreErrors) {
    test::TempDir dir;
    const auto v = small_ct();
    fs::create_directories(dir.path("c/subset0"));
    write_metaimage(dir.path("c/subset0/1.2.3.mhd"), v);
    write_nifti(dir.path("c/1.2.3.nii.gz"), v);
    test::expect_error([&] { (void)find_scans(dir.path("c")); }, {"1.2.3", "the same seriesuid also at"});
    fs::create_directories(dir.path("empty"));
    test::expect_error([&] { (void)find_scans(dir.path("empty")); }, {"empty", "no scans"});
    test::expect_error([&] { (void)find_scans(dir.path("missing")); }, {"missing", "not found"});
}

TEST(CohortLayout, PredictionsAndMasksFoundByStemInAnyFormat) {
    test::TempDir dir;
    const Volume<std::uint8_t> p(test::small_geometry(), 7);
    write_metaimage(dir.path("1.2.3_prob.mhd"), p);
    write_nifti(dir.path("1.2.4_prob.nii.gz"), p);
    write_nifti(dir.path("1.2.4_nodules.nii.gz"), p);
    const auto preds = find_predictions(dir.dir());
    ASSERT_EQ(preds.size(), 2u);
    EXPECT_EQ(preds[0].uid, "1.2.3");
    EXPECT_EQ(preds[1].uid, "1.2.4");
    EXPECT_EQ(prediction_path(dir.dir(), "1.2.4"), dir.path("1.2.4_prob.nii.gz"));
    EXPECT_EQ(prediction_path(dir.dir(), "1.2.5"), "");
    EXPECT_EQ(image_path(dir.dir(), "1.2.4_nodules"), dir.path("1.2.4_nodules.nii.gz"));
    EXPECT_EQ(image_path(dir.dir(), "1.2.3_nodules"), "");
    EXPECT_EQ(read_image_as<std::uint8_t>(image_path(dir.dir(), "1.2.4_nodules")).voxels, p.voxels);
}

}  // namespace
}  // namespace nodulecad
