// DICOM series (io/dicom): round trips on every direction, storage variants, file order, several series, missing
// slices, localizers and odd sizes, truncated files, RescaleSlope 0, tilt, multi-frame, compressed transfer syntaxes,
// BitsStored, per-slice rescaling, and series written by GDCM's own ImageWriter. Files are edited with GDCM here,
// independently of the library's writer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>

#include "io/metaimage_fixtures.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/io/cohort_layout.hpp"
#include "nodulecad/io/dicom.hpp"
#include "nodulecad/io/dicom_structure.hpp"
#include "nodulecad/io/image_file.hpp"
#include "test_util.hpp"

#ifdef NODULECAD_TEST_GDCM
#include <gdcmAttribute.h>
#include <gdcmImageChangeTransferSyntax.h>
#include <gdcmImageReader.h>
#include <gdcmImageWriter.h>
#include <gdcmReader.h>
#include <gdcmWriter.h>
#endif

namespace nodulecad {
namespace {

namespace fs = std::filesystem;

#define SKIP_WITHOUT_DICOM() \
    if (!dicom_supported()) GTEST_SKIP() << "this build has no GDCM"

// A scan of HU values: a patterned int16 volume folded into -1024..3071.
Volume<std::int16_t> hu_volume(const Geometry& g) {
    Volume<std::int16_t> v = test::patterned_volume<std::int16_t>(g);
    for (auto& x : v.voxels) x = static_cast<std::int16_t>(((static_cast<int>(x) % 4096) + 4096) % 4096 - 1024);
    return v;
}

Geometry series_geometry(const Mat3& d) {
    Geometry g = test::small_geometry(d);
    g.size = {6, 5, 4};
    return g;
}

DicomWriteOptions series_options(const std::string& uid) {
    DicomWriteOptions o;
    o.series_uid = uid;
    return o;
}

void expect_same_scan(const Volume<std::int16_t>& got, const Volume<std::int16_t>& want, double tol) {
    ASSERT_EQ(got.geometry.size, want.geometry.size);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_NEAR(got.geometry.spacing[i], want.geometry.spacing[i], tol) << i;
        EXPECT_NEAR(got.geometry.origin[i], want.geometry.origin[i], tol) << i;
    }
    for (std::size_t i = 0; i < 9; ++i) EXPECT_NEAR(got.geometry.direction[i], want.geometry.direction[i], tol) << i;
    EXPECT_EQ(got.voxels, want.voxels);
}

TEST(Dicom, SeriesRoundTripsOnProperDirectionsInEveryStorage) {
    SKIP_WITHOUT_DICOM();
    test::TempDir dir;
    for (const auto& [name, d] : test::test_directions()) {
        if (determinant(d) < 0) continue;  // a reflection comes back re-indexed: next test
        for (const bool unsigned_storage : {false, true})
            for (const bool reversed : {false, true}) {
                SCOPED_TRACE(name + (unsigned_storage ? " unsigned" : " signed") + (reversed ? " reversed" : ""));
                const Volume<std::int16_t> v = hu_volume(series_geometry(d));
                DicomWriteOptions o = series_options("1.2.3.4." + std::to_string(unsigned_storage) + std::to_string(reversed));
                o.unsigned_storage = unsigned_storage;
                o.reverse_file_order = reversed;
                const std::string folder = dir.path(name + std::to_string(unsigned_storage) + std::to_string(reversed));
                write_dicom_series(folder, v, o);
                DicomReadInfo info;
                expect_same_scan(read_dicom_series(folder, {}, &info), v, 1e-9);
                EXPECT_EQ(info.series_uid, o.series_uid);
                EXPECT_EQ(info.modality, "CT");
                EXPECT_EQ(info.slices, 4u);
                EXPECT_EQ(info.spacing_source, "SpacingBetweenSlices (agrees with the positions)");
                EXPECT_TRUE(info.warnings.empty());
            }
    }
    // The whole int16 range, stored unsigned: the intercept moves below -1024 to hold it.
    Volume<std::int16_t> wide = test::patterned_volume<std::int16_t>(series_geometry(identity3()));
    DicomWriteOptions o = series_options("1.2.3.5");
    o.unsigned_storage = true;
    write_dicom_series(dir.path("wide"), wide, o);
    EXPECT_EQ(read_dicom_series(dir.path("wide")).voxels, wide.voxels);
}

TEST(Dicom, AReflectedDirectionReadsBackAsTheSameWorld) {
    SKIP_WITHOUT_DICOM();
    test::TempDir dir;
    const Volume<std::int16_t> v = hu_volume(series_geometry(Mat3{1, 0, 0, 0, 1, 0, 0, 0, -1}));
    write_dicom_series(dir.path("r"), v, series_options("1.2.3.6"));
    const Volume<std::int16_t> back = read_dicom_series(dir.path("r"));
    // DICOM's third axis is row x column: the slices come back in the other order, the world unchanged.
    EXPECT_EQ(back.geometry.direction, identity3());
    const std::int64_t nz = v.geometry.size[2];
    for (std::int64_t k = 0; k < nz; ++k)
        for (std::int64_t j = 0; j < 5; ++j)
            for (std::int64_t i = 0; i < 6; ++i) {
                EXPECT_EQ(back.at(i, j, nz - 1 - k), v.at(i, j, k));
                const Vec3 a = index_to_world(v.geometry, {double(i), double(j), double(k)}), b = index_to_world(back.geometry, {double(i), double(j), double(nz - 1 - k)});
                for (std::size_t x = 0; x < 3; ++x) ASSERT_NEAR(a[x], b[x], 1e-9);
            }
}

TEST(Dicom, SeveralSeriesNeedAChoiceAndOtherFilesAreIgnored) {
    SKIP_WITHOUT_DICOM();
    test::TempDir dir;
    const Volume<std::int16_t> a = hu_volume(series_geometry(identity3()));
    Volume<std::int16_t> b = a;
    for (auto& x : b.voxels) x = static_cast<std::int16_t>(x / 2);
    write_dicom_series(dir.path("study/a"), a, series_options("1.2.840.1"));
    write_dicom_series(dir.path("study/b"), b, series_options("1.2.840.2"));
    test::write_text(dir.path("study/notes.txt"), "not DICOM");
    test::write_text(dir.path("study/a/README"), std::string(300, '\1'));
    const auto all = find_dicom_series(dir.path("study"));
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].images, 4u);
    EXPECT_TRUE(all[0].ct_image());
    test::expect_error([&] { (void)read_dicom_series(dir.path("study")); },
                       {"study", "2 CT series here, choose one with --series UID", "1.2.840.1 (CT, 4 images of 6x5)", "1.2.840.2"});
    DicomReadOptions o;
    o.series = "1.2.840.2";
    EXPECT_EQ(read_dicom_series(dir.path("study"), o).voxels, b.voxels);
    o.series = "9.9";
    test::expect_error([&] { (void)read_dicom_series(dir.path("study"), o); }, {"no series 9.9 here"});
    test::expect_error([&] { (void)read_dicom_series(dir.path("nowhere")); }, {"nowhere", "DICOM folder not found"});
    fs::create_directories(dir.path("empty"));
    test::expect_error([&] { (void)read_dicom_series(dir.path("empty")); }, {"empty", "no DICOM images"});
    // A cohort of series folders: each CT series is a scan named by its SeriesInstanceUID.
    const auto scans = find_scans(dir.path("study"));
    ASSERT_EQ(scans.size(), 2u);
    EXPECT_EQ(scans[1].uid, "1.2.840.2");
    EXPECT_EQ(read_scan(scans[1]).voxels, b.voxels);
    ImageFileInfo info;
    ImageReadOptions ro;
    ro.series = "1.2.840.1";
    EXPECT_EQ(read_ct(dir.path("study"), ro, &info).voxels, a.voxels);
    EXPECT_EQ(info.format, ImageFormat::Dicom);
    EXPECT_EQ(info.series_uid, "1.2.840.1");
}

#ifdef NODULECAD_TEST_GDCM

// Rewrites one file through GDCM, letting `edit` change it (its data set or its meta group). `meta_as_edited`: the
// meta group is written as edited, not completed and corrected from the data set by GDCM.
void rewrite_file(const std::string& path, const std::function<void(gdcm::File&)>& edit, bool meta_as_edited = false) {
    gdcm::Reader r;
    r.SetFileName(path.c_str());
    ASSERT_TRUE(r.Read()) << path;
    edit(r.GetFile());
    gdcm::Writer w;
    w.SetFile(r.GetFile());
    if (meta_as_edited) w.CheckFileMetaInformationOff();
    w.SetFileName(path.c_str());
    ASSERT_TRUE(w.Write()) << path;
}

// Rewrites one file, letting `edit` change its data set.
void edit_file(const std::string& path, const std::function<void(gdcm::DataSet&)>& edit) {
    rewrite_file(path, [&](gdcm::File& f) { edit(f.GetDataSet()); });
}

template <std::uint16_t G, std::uint16_t E> void set_string(gdcm::DataSet& ds, const gdcm::VR& vr, std::string value) {
    if (value.size() % 2) value += ' ';
    gdcm::DataElement de(gdcm::Tag(G, E));
    de.SetVR(vr);
    de.SetByteValue(value.data(), static_cast<std::uint32_t>(value.size()));
    ds.Replace(de);
}

// A 32x24x4 series (OpenJPEG fails on images of a few pixels).
Geometry fixture_geometry() {
    Geometry g = series_geometry(identity3());
    g.size = {32, 24, 4};
    return g;
}

// Rewrites one image in another transfer syntax (GDCM's encoders).
void transcode(const std::string& path, gdcm::TransferSyntax::TSType syntax) {
    gdcm::ImageReader r;
    r.SetFileName(path.c_str());
    ASSERT_TRUE(r.Read()) << path;
    gdcm::ImageChangeTransferSyntax change;
    change.SetTransferSyntax(syntax);
    change.SetInput(r.GetImage());
    ASSERT_TRUE(change.Change()) << path;
    gdcm::ImageWriter w;
    w.SetFile(r.GetFile());
    w.SetImage(change.GetOutput());
    w.SetFileName(path.c_str());
    ASSERT_TRUE(w.Write()) << path;
}

// A UI element of the file meta group set to `uid`, the rest as it was read.
void set_meta_uid(const std::string& path, std::uint16_t element, const std::string& uid) {
    rewrite_file(
        path,
        [&](gdcm::File& f) {
            gdcm::DataElement de(gdcm::Tag(0x0002, element));
            de.SetVR(gdcm::VR::UI);
            de.SetByteValue(uid.c_str(), static_cast<std::uint32_t>(uid.size() + uid.size() % 2));
            f.GetHeader().Replace(de);
        },
        true);
}

// The file rewritten by GDCM under another transfer syntax named in its meta group (the data set as it was read).
void relabel(const std::string& path, const std::string& uid) { set_meta_uid(path, 0x0010, uid); }

// The file rewritten by GDCM with its data set deflated (transfer syntax 1.2.840.10008.1.2.1.99).
void deflate_data_set(const std::string& path) {
    rewrite_file(path, [](gdcm::File& f) { f.GetHeader().SetDataSetTransferSyntax(gdcm::TransferSyntax::DeflatedExplicitVRLittleEndian); });
}

// The file rewritten by GDCM with its PhotometricInterpretation (0028,0004) set to `value` (as given: padding too).
void set_photometric(const std::string& path, const std::string& value) {
    edit_file(path, [&](gdcm::DataSet& ds) {
        gdcm::DataElement pi(gdcm::Tag(0x0028, 0x0004));
        pi.SetVR(gdcm::VR::CS);
        pi.SetByteValue(value.c_str(), static_cast<std::uint32_t>(value.size()));
        ds.Replace(pi);
    });
}

struct Series {
    test::TempDir dir;
    Volume<std::int16_t> scan = hu_volume(fixture_geometry());
    std::string folder;
    Series() : folder(dir.path("s")) { write_dicom_series(folder, scan, series_options("1.2.3.7")); }
    std::string file(int k) const { return folder + "/IM000" + std::to_string(k) + ".dcm"; }
};

TEST(Dicom, AMissingSliceIsNamedByItsPosition) {
    Series s;
    fs::remove(s.file(2));
    test::expect_error([&] { (void)read_dicom_series(s.folder); }, {"missing slice: no image at (-172.900, 200.100, -330.500)", "IM0001.dcm", "IM0003.dcm"});
}

TEST(Dicom, LocalizersAndOtherSizesAreSkippedWithWarnings) {
    Series s;
    // A localizer and a 3x3 image of the same series beside the stack.
    fs::copy_file(s.file(0), s.folder + "/loc.dcm");
    edit_file(s.folder + "/loc.dcm", [](gdcm::DataSet& ds) { set_string<0x0008, 0x0008>(ds, gdcm::VR::CS, "ORIGINAL\\PRIMARY\\LOCALIZER"); });
    Volume<std::int16_t> small(series_geometry(identity3()), 5);
    small.geometry.size = {3, 3, 1};
    small.voxels.resize(9);
    write_dicom_series(s.dir.path("other"), small, series_options("1.2.3.7"));
    fs::copy_file(s.dir.path("other/IM0000.dcm"), s.folder + "/small.dcm");
    DicomReadInfo info;
    EXPECT_EQ(read_dicom_series(s.folder, {}, &info).voxels, s.scan.voxels);
    ASSERT_EQ(info.warnings.size(), 2u);
    EXPECT_EQ(info.warnings[0], "skipped 1 localizer image(s)");
    EXPECT_EQ(info.warnings[1], "skipped 1 image(s) of another orientation or size");
}

TEST(Dicom, BrokenSeriesAreOneLineErrors) {
    {
        Series s;
        const std::string bytes = read_file(s.file(1));
        write_file_atomically(s.file(1), bytes.substr(0, bytes.size() - 20));
        test::expect_error([&] { (void)read_dicom_series(s.folder); }, {"IM0001.dcm", "truncated"});
    }
    {
        Series s;
        edit_file(s.file(3), [](gdcm::DataSet& ds) { set_string<0x0028, 0x1053>(ds, gdcm::VR::DS, "0"); });
        test::expect_error([&] { (void)read_dicom_series(s.folder); }, {"IM0003.dcm", "RescaleSlope is 0"});
    }
    {
        // Gantry tilt: each slice moved 1 mm further along y as z grows by 2.5 mm.
        Series s;
        for (int k = 0; k < 4; ++k)
            edit_file(s.file(k), [k](gdcm::DataSet& ds) {
                set_string<0x0020, 0x0032>(ds, gdcm::VR::DS, "-172.9\\" + std::to_string(200.1 + k) + "\\" + std::to_string(-335.5 + 2.5 * k));
            });
        test::expect_error([&] { (void)read_dicom_series(s.folder); }, {"gantry tilt", "21.80 degrees"});
    }
    {
        Series s;
        edit_file(s.file(0), [](gdcm::DataSet& ds) { set_string<0x0028, 0x0008>(ds, gdcm::VR::IS, "4"); });
        test::expect_error([&] { (void)read_dicom_series(s.folder); }, {"enhanced multi-frame CT", "not supported"});
    }
    {
        Series s;
        edit_file(s.file(2), [](gdcm::DataSet& ds) { set_string<0x0020, 0x0032>(ds, gdcm::VR::DS, "-172.9\\200.1\\-330.5001"); });
        edit_file(s.file(1), [](gdcm::DataSet& ds) { set_string<0x0020, 0x0032>(ds, gdcm::VR::DS, "-172.9\\200.1\\-331.5"); });
        test::expect_error([&] { (void)read_dicom_series(s.folder); }, {"not evenly spaced"});
    }
}

TEST(Dicom, MixedStacksOnlyNonDicomAndUndecodableSyntaxesAreOneLineErrors) {
    {
        // Half the images 32x24, half 6x5, in one series: no majority stack.
        Series s;
        Volume<std::int16_t> small = hu_volume(series_geometry(identity3()));
        write_dicom_series(s.dir.path("other"), small, series_options("1.2.3.7"));
        for (int k = 0; k < 4; ++k) fs::copy_file(s.dir.path("other/IM000" + std::to_string(k) + ".dcm"), s.folder + "/small" + std::to_string(k) + ".dcm");
        test::expect_error([&] { (void)read_dicom_series(s.folder); }, {"mixes image sizes or orientations with no majority", "4 images of", "6x5"});
    }
    {
        test::TempDir dir;
        fs::create_directories(dir.path("docs"));
        test::write_text(dir.path("docs/notes.txt"), "not DICOM");
        test::write_text(dir.path("docs/scan.raw"), std::string(4096, '\0'));
        test::expect_error([&] { (void)read_dicom_series(dir.path("docs")); }, {"docs", "no DICOM images"});
    }
    {
        // An RLE image relabelled MPEG-2 (a video syntax GDCM does not decode): its pixel data cannot be decoded.
        Series s;
        transcode(s.file(2), gdcm::TransferSyntax::RLELossless);
        relabel(s.file(2), "1.2.840.10008.1.2.4.100");
        test::expect_error([&] { (void)read_dicom_series(s.folder); }, {"IM0002.dcm", "1.2.840.10008.1.2.4.100"});
    }
}

// A slice cut short at any byte (a partial download) is a one-line error: never a crash inside GDCM (which, as
// Debian builds it, aborts on some truncated files; the fuzzer found one).
TEST(Dicom, ASliceCutShortAnywhereIsAnError) {
    Series s;
    const std::string whole = read_file(s.file(1));
    for (std::size_t cut = 0; cut < whole.size(); cut += (cut < 1200 ? 1 : 101)) {
        SCOPED_TRACE(cut);
        write_file_atomically(s.file(1), whole.substr(0, cut));
        EXPECT_THROW((void)read_dicom_series(s.folder), Error);
    }
    write_file_atomically(s.file(1), whole);
    EXPECT_EQ(read_dicom_series(s.folder).voxels, s.scan.voxels);
}

// The deflated transfer syntax: GDCM writes it and decodes it; our structural check inflates the data set and walks
// it, so a deflated slice cut short or corrupt is a one-line error too (GDCM would parse what it inflates).
TEST(Dicom, ADeflatedSeriesReadsTheSameVoxelsAndABrokenDeflatedSliceIsAnError) {
    Series s;
    const std::string deflated = "1.2.840.10008.1.2.1.99";
    for (int k = 0; k < 4; ++k) deflate_data_set(s.file(k));
    ASSERT_NE(read_file(s.file(1)).find(deflated), std::string::npos);
    const DicomCheck check = check_dicom_file(s.file(1));
    EXPECT_EQ(check.problem, "");
    EXPECT_FALSE(check.pixels.native_little_endian);
    EXPECT_EQ(check.pixels.rows, s.scan.geometry.size[1]);
    EXPECT_EQ(read_dicom_series(s.folder).voxels, s.scan.voxels);
    const std::string whole = read_file(s.file(1));
    // The deflate stream starts where the file meta group ends: (0002,0000) UL at byte 132 gives its length.
    std::size_t data_set = 144;
    for (int b = 3; b >= 0; --b) data_set += static_cast<std::size_t>(static_cast<unsigned char>(whole[140 + static_cast<std::size_t>(b)])) << (8 * b);
    ASSERT_LT(data_set + 48, whole.size());
    // Cut anywhere in the stream (GDCM ends it with 8 bytes of gzip-style trailer, CRC-32 and size, that readers
    // ignore).
    for (std::size_t cut = data_set; cut < whole.size() - 8; cut += 7) {
        SCOPED_TRACE(cut);
        write_file_atomically(s.file(1), whole.substr(0, cut));
        EXPECT_THROW((void)read_dicom_series(s.folder), Error);
    }
    std::string corrupt = whole;
    for (std::size_t i = data_set + 40; i < data_set + 48; ++i) corrupt[i] = '\xff';
    write_file_atomically(s.file(1), corrupt);
    test::expect_error([&] { (void)read_dicom_series(s.folder); }, {"IM0001.dcm", "deflated data set"});
}

// A greyscale image is what CT is: a palette (whose lookup tables Debian's GDCM asserts on when they are missing:
// found by fuzzing) or another one-sample interpretation is refused before GDCM decodes the slice.
TEST(Dicom, APaletteColourSliceIsRefusedBeforeGdcmDecodesIt) {
    Series s;
    transcode(s.file(2), gdcm::TransferSyntax::RLELossless);  // so that GDCM, not the direct reader, would decode it
    set_photometric(s.file(2), "PALETTE COLOR ");
    EXPECT_EQ(check_dicom_file(s.file(2)).pixels.photometric, "PALETTE COLOR");
    EXPECT_EQ(check_dicom_file(s.file(1)).pixels.photometric, "MONOCHROME2");
    test::expect_error([&] { (void)read_dicom_series(s.folder); }, {"IM0002.dcm", "not a greyscale image (PhotometricInterpretation 'PALETTE COLOR')"});
    // Present but empty: taken as grey, like an absent one.
    set_photometric(s.file(2), "");
    EXPECT_EQ(read_dicom_series(s.folder).voxels, s.scan.voxels);
}

// GDCM decodes the pixels of a slice the direct reader does not take, in an image described by what the structural
// walk checked; its image reader, which interprets the whole header, is not used. Here a compressed slice that only its
// meta group calls MR, with a RescaleIntercept and no RescaleSlope: the image reader computes a slope of 0 for it and
// Debian's GDCM (assertions on) aborts the process (found by fuzzing). HU need only the slice's own rescale tags.
TEST(Dicom, GdcmDecodesPixelsWithoutInterpretingTheHeader) {
    Series s;
    transcode(s.file(2), gdcm::TransferSyntax::RLELossless);
    edit_file(s.file(2), [](gdcm::DataSet& ds) {
        ds.Remove(gdcm::Tag(0x0008, 0x0016));  // no SOPClassUID in the data set: GDCM goes by the meta group's
        ds.Remove(gdcm::Tag(0x0028, 0x1053));
    });
    set_meta_uid(s.file(2), 0x0002, "1.2.840.10008.5.1.4.1.1.4");  // MediaStorageSOPClassUID: MR Image Storage
    ASSERT_NE(read_file(s.file(2)).find("1.2.840.10008.5.1.4.1.1.4"), std::string::npos);
    EXPECT_EQ(check_dicom_file(s.file(2)).problem, "");
    EXPECT_EQ(read_dicom_series(s.folder).voxels, s.scan.voxels);
    // What the walk found decides how the codec's output is read: a PixelRepresentation that is neither 0 nor 1 is an
    // error, not a guess.
    rewrite_file(
        s.file(2),
        [](gdcm::File& f) {
            gdcm::Attribute<0x0028, 0x0103> representation{2};
            f.GetDataSet().Replace(representation.GetAsDataElement());
        },
        true);
    test::expect_error([&] { (void)read_dicom_series(s.folder); }, {"IM0002.dcm", "PixelRepresentation is 2, neither 0 (unsigned) nor 1 (signed)"});
}

// A JPEG stream GDCM's own decoder refuses (here a Huffman table declaring 4,080 codes) is a one-line error. Debian's
// GDCM would then hand it to the external pvrg-jpeg program through system(), leaving its input in a temporary file,
// and on this very kind of table pvrg-jpeg never ends (found by fuzzing): the read hung.
TEST(Dicom, AJpegStreamGdcmsDecoderRefusesIsAnErrorAndNoExternalDecoderRuns) {
    Series s;
    transcode(s.file(2), gdcm::TransferSyntax::JPEGLosslessProcess14_1);
    std::string bytes = read_file(s.file(2));
    const std::size_t soi = bytes.find("\xff\xd8\xff"), dht = bytes.find("\xff\xc4", soi);
    ASSERT_NE(soi, std::string::npos);
    ASSERT_NE(dht, std::string::npos);
    for (std::size_t i = dht + 5; i < dht + 21; ++i) bytes[i] = '\xff';  // the 16 code-length counts after marker, length, class
    write_file_atomically(s.file(2), bytes);
    // Where a temporary file of GDCM's would go (tempnam reads TMPDIR at each call).
    test::TempDir tmp;
    const char* before = std::getenv("TMPDIR");
    const std::string saved = before ? before : "";
    ::setenv("TMPDIR", tmp.dir().c_str(), 1);
    test::expect_error([&] { (void)read_dicom_series(s.folder); }, {"IM0002.dcm", "cannot decode the pixel data (transfer syntax 1.2.840.10008.1.2.4.70)"});
    if (before) ::setenv("TMPDIR", saved.c_str(), 1);
    else ::unsetenv("TMPDIR");
    EXPECT_TRUE(fs::is_empty(tmp.dir())) << "a temporary file of GDCM's external decoder";
}

// GDCM's decoders run in a child process: one that crashes on a broken stream (here a JPEG whose Huffman table marker
// lost a bit, on which Debian's GDCM asserts in its 16-bit JPEG decoder: found by fuzzing) is a one-line error
// naming the slice, and the process goes on (a GDCM built without assertions refuses the stream instead).
TEST(Dicom, AGdcmDecoderCrashingOnABrokenStreamIsAnErrorNotTheEnd) {
    Series s;
    transcode(s.file(1), gdcm::TransferSyntax::JPEGLosslessProcess14_1);
    std::string bytes = read_file(s.file(1));
    const std::size_t dht = bytes.find("\xff\xc4", bytes.find("\xff\xd8\xff"));
    ASSERT_NE(dht, std::string::npos);
    bytes[dht] = '\x7f';
    write_file_atomically(s.file(1), bytes);
    try {
        (void)read_dicom_series(s.folder);
        ADD_FAILURE() << "read a broken JPEG slice";
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("IM0001.dcm: "), std::string::npos) << m;
        EXPECT_TRUE(m.find("GDCM's decoder was ended by signal 6") != std::string::npos || m.find("cannot decode the pixel data") != std::string::npos) << m;
        EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    }
    // The same series reads once the slice is whole again: nothing was left behind.
    transcode(s.file(2), gdcm::TransferSyntax::JPEGLosslessProcess14_1);
    write_dicom_series(s.dir.path("again"), s.scan, series_options("1.2.3.7"));
    fs::copy_file(s.dir.path("again/IM0001.dcm"), s.file(1), fs::copy_options::overwrite_existing);
    EXPECT_EQ(read_dicom_series(s.folder).voxels, s.scan.voxels);
}

TEST(Dicom, EveryTransferSyntaxGdcmDecodesReadsTheSameVoxels) {
    Series s;
    const gdcm::TransferSyntax::TSType syntaxes[] = {gdcm::TransferSyntax::ImplicitVRLittleEndian, gdcm::TransferSyntax::ExplicitVRBigEndian,
                                                     gdcm::TransferSyntax::JPEGLosslessProcess14_1, gdcm::TransferSyntax::JPEGLSLossless,
                                                     gdcm::TransferSyntax::JPEG2000Lossless, gdcm::TransferSyntax::RLELossless};
    for (int k = 0; k < 4; ++k) {
        // Slice k in syntax k, the rest as they were: one series of mixed syntaxes.
        transcode(s.file(k), syntaxes[k]);
    }
    EXPECT_EQ(read_dicom_series(s.folder).voxels, s.scan.voxels);
    Series t;
    for (int k = 0; k < 2; ++k) {
        transcode(t.file(k), syntaxes[4 + k]);
    }
    EXPECT_EQ(read_dicom_series(t.folder).voxels, t.scan.voxels);
}

TEST(Dicom, BitsStoredAndPerSliceRescalingAreHonoured) {
    Series s;
    // Slice 1: 12 bits stored, signed, high bits holding garbage; slice 2: its own slope and intercept.
    edit_file(s.file(1), [&](gdcm::DataSet& ds) {
        gdcm::Attribute<0x0028, 0x0101> stored{12};
        ds.Replace(stored.GetAsDataElement());
        gdcm::Attribute<0x0028, 0x0102> high{11};
        ds.Replace(high.GetAsDataElement());
        const gdcm::ByteValue* bv = ds.GetDataElement(gdcm::Tag(0x7fe0, 0x0010)).GetByteValue();
        std::vector<std::int16_t> px(bv->GetLength() / 2);
        std::memcpy(px.data(), bv->GetPointer(), bv->GetLength());
        for (auto& v : px) v = static_cast<std::int16_t>((static_cast<std::uint16_t>(v) & 0x0fff) | 0xa000);  // garbage in bits 12-15
        gdcm::DataElement de(gdcm::Tag(0x7fe0, 0x0010));
        de.SetVR(gdcm::VR::OW);
        de.SetByteValue(reinterpret_cast<const char*>(px.data()), static_cast<std::uint32_t>(px.size() * 2));
        ds.Replace(de);
    });
    edit_file(s.file(2), [&](gdcm::DataSet& ds) {
        set_string<0x0028, 0x1053>(ds, gdcm::VR::DS, "2");
        set_string<0x0028, 0x1052>(ds, gdcm::VR::DS, "-100");
    });
    // Slice 3: a fractional slope (HU rounded half away from zero); slice 0: a slope that overflows int16 (clamped).
    edit_file(s.file(3), [&](gdcm::DataSet& ds) {
        set_string<0x0028, 0x1053>(ds, gdcm::VR::DS, "0.5");
        set_string<0x0028, 0x1052>(ds, gdcm::VR::DS, "-0.25");
    });
    edit_file(s.file(0), [&](gdcm::DataSet& ds) { set_string<0x0028, 0x1053>(ds, gdcm::VR::DS, "40"); });
    DicomReadInfo info;
    const Volume<std::int16_t> back = read_dicom_series(s.folder, {}, &info);
    const std::size_t plane = 32 * 24;
    std::size_t clamped = 0;
    for (std::size_t i = 0; i < plane; ++i) {
        // 12-bit two's complement of the low 12 bits.
        const int low = static_cast<std::uint16_t>(s.scan.voxels[plane + i]) & 0x0fff;
        EXPECT_EQ(back.voxels[plane + i], low >= 2048 ? low - 4096 : low) << i;
        EXPECT_EQ(back.voxels[2 * plane + i], 2 * s.scan.voxels[2 * plane + i] - 100) << i;
        EXPECT_EQ(back.voxels[3 * plane + i], std::round(0.5 * s.scan.voxels[3 * plane + i] - 0.25)) << i;
        const int wide = 40 * s.scan.voxels[i];
        EXPECT_EQ(back.voxels[i], std::clamp(wide, -32768, 32767)) << i;
        clamped += wide != std::clamp(wide, -32768, 32767);
    }
    ASSERT_GT(clamped, 0u);
    bool warned = false;
    for (const auto& w : info.warnings) warned = warned || w.find(std::to_string(clamped)) != std::string::npos;
    EXPECT_TRUE(warned) << "no warning counting the " << clamped << " clamped voxels";
}

// A series written by GDCM's ImageWriter (its own formatting of positions, orientation and spacing), not ours.
TEST(Dicom, SeriesWrittenByGdcmsImageWriterRead) {
    test::TempDir dir;
    fs::create_directories(dir.path("g"));
    const double dir_cos[6] = {0, 1, 0, 0, 0, -1};  // sagittal: rows along +y, columns along -z; normal row x column = -x
    for (int k = 0; k < 3; ++k) {
        gdcm::ImageWriter w;
        gdcm::Image& im = w.GetImage();
        im.SetNumberOfDimensions(2);
        im.SetDimension(0, 4);
        im.SetDimension(1, 3);
        im.SetPixelFormat(gdcm::PixelFormat::INT16);
        im.SetPhotometricInterpretation(gdcm::PhotometricInterpretation::MONOCHROME2);
        const double spacing[3] = {0.6, 0.9, 1.5};
        im.SetSpacing(spacing);
        const double origin[3] = {12.5 + 1.5 * k, -30, 40};
        im.SetOrigin(origin);
        im.SetOrigin(2, origin[2]);
        im.SetDirectionCosines(dir_cos);
        im.SetIntercept(-1024);
        im.SetSlope(1);
        im.SetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
        std::vector<std::int16_t> px(12);
        for (int i = 0; i < 12; ++i) px[static_cast<std::size_t>(i)] = static_cast<std::int16_t>(100 * k + i);
        gdcm::DataElement pixels(gdcm::Tag(0x7fe0, 0x0010));
        pixels.SetByteValue(reinterpret_cast<const char*>(px.data()), 24);
        im.SetDataElement(pixels);
        gdcm::DataSet& ds = w.GetFile().GetDataSet();
        set_string<0x0008, 0x0060>(ds, gdcm::VR::CS, "CT");
        set_string<0x0008, 0x0016>(ds, gdcm::VR::UI, std::string("1.2.840.10008.5.1.4.1.1.2\0", 26));
        set_string<0x0020, 0x000e>(ds, gdcm::VR::UI, "1.2.3.8");
        w.SetFileName(dir.path("g/" + std::to_string(2 - k) + ".dcm").c_str());
        ASSERT_TRUE(w.Write());
    }
    DicomReadInfo info;
    const Volume<std::int16_t> v = read_dicom_series(dir.path("g"), {}, &info);
    EXPECT_EQ(v.geometry.size, (std::array<std::int64_t, 3>{4, 3, 3}));
    EXPECT_EQ(v.geometry.direction, (Mat3{0, 0, -1, 1, 0, 0, 0, -1, 0}));
    EXPECT_NEAR(v.geometry.spacing[0], 0.6, 1e-12);
    EXPECT_NEAR(v.geometry.spacing[1], 0.9, 1e-12);
    EXPECT_NEAR(v.geometry.spacing[2], 1.5, 1e-9);
    EXPECT_EQ(info.spacing_source, "positions");
    EXPECT_EQ(v.geometry.origin, (Vec3{15.5, -30, 40}));  // the first slice along -x
    EXPECT_EQ(v.at(3, 2, 0), 200 + 11 - 1024);
    EXPECT_EQ(v.at(3, 2, 2), 11 - 1024);
}

#endif

}  // namespace
}  // namespace nodulecad
