// DICOM on GDCM (built when CMake finds it: NODULECAD_HAVE_GDCM). See dicom.hpp for the rules.
#include "nodulecad/io/dicom.hpp"
#include "nodulecad/io/dicom_structure.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <new>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

#include "nodulecad/core/child_process.hpp"
#include "nodulecad/core/error.hpp"
#include "nodulecad/core/memory_limit.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/core/random.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/io/text_numbers.hpp"

#ifdef NODULECAD_HAVE_GDCM
#include <gdcmAttribute.h>
#include <gdcmDataSet.h>
#include <gdcmDirectory.h>
#include <gdcmExplicitDataElement.h>
#include <gdcmImplicitDataElement.h>
#include <gdcmFileMetaInformation.h>
#include <gdcmImage.h>
#include <gdcmReader.h>
#include <gdcmScanner.h>
#include <gdcmTrace.h>
#include <gdcmWriter.h>
#endif

namespace nodulecad {

namespace fs = std::filesystem;

namespace {
constexpr const char* kCtImageStorage = "1.2.840.10008.5.1.4.1.1.2";
constexpr const char* kEnhancedCtImageStorage = "1.2.840.10008.5.1.4.1.1.2.1";
}  // namespace

bool DicomSeries::ct_image() const { return sop_class == kCtImageStorage || (sop_class.empty() && modality == "CT"); }

bool looks_like_dicom(const std::string& path) { return dicom_magic(read_file_prefix(path, 132)); }

#ifndef NODULECAD_HAVE_GDCM

bool dicom_supported() { return false; }

namespace {
[[noreturn]] void no_gdcm(const std::string& where) {
    fail(where, "DICOM needs GDCM: this nodulecad was built without it (apt-get install libgdcm-dev, then rebuild)");
}
}  // namespace

std::vector<DicomSeries> find_dicom_series(const std::string& folder) { no_gdcm(folder); }
Volume<std::int16_t> read_dicom_series(const std::string& folder, const DicomReadOptions&, DicomReadInfo*) { no_gdcm(folder); }
void write_dicom_series(const std::string& folder, const Volume<std::int16_t>&, const DicomWriteOptions&) { no_gdcm(folder); }

#else

bool dicom_supported() { return true; }

namespace {

// GDCM reports to stderr by default; every problem here becomes one Error line instead.
void quiet_gdcm() {
    static std::once_flag once;
    std::call_once(once, [] {
        gdcm::Trace::SetDebug(false);
        gdcm::Trace::SetWarning(false);
        gdcm::Trace::SetError(false);
    });
}

const gdcm::Tag kSeriesUid(0x0020, 0x000e), kModality(0x0008, 0x0060), kSopClass(0x0008, 0x0016), kRows(0x0028, 0x0010),
    kColumns(0x0028, 0x0011), kPosition(0x0020, 0x0032), kOrientation(0x0020, 0x0037), kPixelSpacing(0x0028, 0x0030),
    kImageType(0x0008, 0x0008), kFrames(0x0028, 0x0008), kSpacingBetween(0x0018, 0x0088), kIntercept(0x0028, 0x1052), kSlope(0x0028, 0x1053);

// Files that are never DICOM, skipped without opening (a cohort folder also holds MetaImage, NIfTI, tables).
bool skipped_by_name(const std::string& path) {
    static const std::set<std::string> endings = {".mhd", ".mha", ".raw", ".zraw", ".nii", ".gz", ".csv", ".json", ".png",
                                                  ".txt", ".npy", ".pt",  ".html", ".svg", ".md"};
    return endings.count(fs::path(path).extension().string()) > 0;
}

std::string trimmed(const char* s) {
    std::string v = s ? s : "";
    while (!v.empty() && (v.back() == ' ' || v.back() == '\0')) v.pop_back();
    while (!v.empty() && v.front() == ' ') v.erase(v.begin());
    return v;
}

// A DICOM multi-valued decimal string ("a\b\c") as numbers; empty when any value is not a number.
std::vector<double> decimals(const std::string& s) {
    std::vector<double> out;
    std::size_t start = 0;
    while (start <= s.size()) {
        const std::size_t end = std::min(s.find('\\', start), s.size());
        std::string part = s.substr(start, end - start);
        while (!part.empty() && part.back() == ' ') part.pop_back();
        while (!part.empty() && part.front() == ' ') part.erase(part.begin());
        const auto v = parse_double(part);
        if (!v) return {};
        out.push_back(*v);
        start = end + 1;
    }
    return out;
}

gdcm::Scanner scan(const std::vector<std::string>& files, const std::vector<gdcm::Tag>& tags) {
    quiet_gdcm();
    gdcm::Scanner s;
    for (const auto& t : tags) s.AddTag(t);
    s.Scan(files);
    return s;
}

std::string describe(const DicomSeries& s) {
    return s.uid + " (" + (s.modality.empty() ? "?" : s.modality) + ", " + std::to_string(s.images) + " images of " + std::to_string(s.columns) + "x" +
           std::to_string(s.rows) + ")";
}

}  // namespace

namespace {

// The series under `folder`; with `layouts`, also where each file's pixels lie (from the structural check every
// file gets before GDCM sees it), so the reader need not walk the files again.
std::vector<DicomSeries> list_series(const std::string& folder, std::map<std::string, DicomPixelLayout>* layouts) {
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) fail(folder, "DICOM folder not found");
    quiet_gdcm();
    gdcm::Directory d;
    d.Load(folder, true);
    std::vector<std::string> files;
    for (const auto& f : d.GetFilenames()) {
        if (skipped_by_name(f)) continue;
        // GDCM asserts (ending the process) on some broken files: they never reach it.
        const DicomCheck check = check_dicom_file(f);
        if (!check.dicom) continue;
        if (!check.problem.empty()) fail(f, "a broken DICOM file: " + check.problem);
        if (layouts) (*layouts)[f] = check.pixels;
        files.push_back(f);
    }
    std::sort(files.begin(), files.end());
    const gdcm::Scanner s = scan(files, {kSeriesUid, kModality, kSopClass, kRows, kColumns});
    std::map<std::string, DicomSeries> by_uid;
    for (const auto& f : files) {
        if (!s.IsKey(f.c_str())) continue;
        const std::string uid = trimmed(s.GetValue(f.c_str(), kSeriesUid));
        if (uid.empty()) continue;
        DicomSeries& series = by_uid[uid];
        if (series.files.empty()) {
            series.uid = uid;
            series.modality = trimmed(s.GetValue(f.c_str(), kModality));
            series.sop_class = trimmed(s.GetValue(f.c_str(), kSopClass));
            series.columns = parse_int(trimmed(s.GetValue(f.c_str(), kColumns))).value_or(0);
            series.rows = parse_int(trimmed(s.GetValue(f.c_str(), kRows))).value_or(0);
        }
        series.files.push_back(f);
        ++series.images;
    }
    std::vector<DicomSeries> out;
    for (auto& [uid, series] : by_uid) out.push_back(std::move(series));
    return out;
}

}  // namespace

std::vector<DicomSeries> find_dicom_series(const std::string& folder) { return list_series(folder, nullptr); }

namespace {

// The series to read: the one asked for, else the folder's one CT image series.
DicomSeries choose_series(const std::vector<DicomSeries>& all, const std::string& folder, const std::string& wanted) {
    std::string listing;
    for (const auto& s : all) listing += (listing.empty() ? "" : "; ") + describe(s);
    if (all.empty()) fail(folder, "no DICOM images in this folder (searched recursively)");
    if (!wanted.empty()) {
        for (const auto& s : all)
            if (s.uid == wanted) return s;
        fail(folder, "no series " + wanted + " here; the folder holds: " + listing);
    }
    std::vector<const DicomSeries*> ct;
    for (const auto& s : all)
        if (s.ct_image() || s.sop_class == kEnhancedCtImageStorage) ct.push_back(&s);
    if (ct.size() == 1) return *ct.front();
    if (ct.empty()) fail(folder, "no CT image series here; the folder holds: " + listing);
    fail(folder, std::to_string(ct.size()) + " CT series here, choose one with --series UID: " + listing);
}

struct SliceInfo {
    std::string file;
    Vec3 position{};
    double along = 0;  // position projected on the slice normal
    std::string slope, intercept;  // RescaleSlope / RescaleIntercept as written (empty: absent)
    DicomPixelLayout pixels;       // where the structural check found the pixels
};

// The images that make the scan: one orientation and size (the largest group); the rest named in warnings.
struct Stack {
    std::vector<SliceInfo> slices;
    std::array<double, 6> orientation{};
    std::int64_t columns = 0, rows = 0;
    std::vector<double> pixel_spacing;  // row spacing, column spacing
    std::string spacing_between;        // SpacingBetweenSlices as written, when present
};

Stack stack_of(const DicomSeries& series, const std::map<std::string, DicomPixelLayout>& layouts, const std::string& folder,
               std::vector<std::string>& warnings) {
    const gdcm::Scanner s =
        scan(series.files, {kPosition, kOrientation, kPixelSpacing, kRows, kColumns, kImageType, kFrames, kSopClass, kSpacingBetween, kIntercept, kSlope});
    struct Key {
        std::array<long long, 6> orientation;
        std::int64_t columns, rows;
        bool operator<(const Key& o) const { return std::tie(orientation, columns, rows) < std::tie(o.orientation, o.columns, o.rows); }
    };
    std::map<Key, std::vector<std::string>> groups;
    std::size_t localizers = 0, unplaced = 0;
    for (const auto& f : series.files) {
        const char* name = f.c_str();
        if (trimmed(s.GetValue(name, kSopClass)) == kEnhancedCtImageStorage || parse_int(trimmed(s.GetValue(name, kFrames))).value_or(1) > 1)
            fail(folder, "enhanced multi-frame CT (" + fs::path(f).filename().string() + ") is not supported: convert it to one image per slice");
        if (trimmed(s.GetValue(name, kImageType)).find("LOCALIZER") != std::string::npos) {
            ++localizers;
            continue;
        }
        const std::vector<double> o = decimals(trimmed(s.GetValue(name, kOrientation))), p = decimals(trimmed(s.GetValue(name, kPosition)));
        if (o.size() != 6 || p.size() != 3) {
            ++unplaced;
            continue;
        }
        Key k{};
        for (std::size_t i = 0; i < 6; ++i) k.orientation[i] = std::llround(o[i] * 1e4);
        k.columns = parse_int(trimmed(s.GetValue(name, kColumns))).value_or(0);
        k.rows = parse_int(trimmed(s.GetValue(name, kRows))).value_or(0);
        groups[k].push_back(f);
    }
    if (localizers) warnings.push_back("skipped " + std::to_string(localizers) + " localizer image(s)");
    if (unplaced) warnings.push_back("skipped " + std::to_string(unplaced) + " image(s) without a position and orientation");
    if (groups.empty()) fail(folder, "series " + series.uid + " has no images with a position and orientation");
    auto best = groups.begin();
    for (auto it = groups.begin(); it != groups.end(); ++it)
        if (it->second.size() > best->second.size()) best = it;
    // Two stacks of the same count: no way to tell which is the scan (a mixed series, not a stray localizer).
    for (auto it = groups.begin(); it != groups.end(); ++it)
        if (it != best && it->second.size() == best->second.size())
            fail(folder, "series " + series.uid + " mixes image sizes or orientations with no majority: " + std::to_string(best->second.size()) +
                             " images of " + std::to_string(best->first.columns) + "x" + std::to_string(best->first.rows) + " and " +
                             std::to_string(it->second.size()) + " of " + std::to_string(it->first.columns) + "x" + std::to_string(it->first.rows) +
                             " (give a folder holding one stack)");
    const std::size_t others = series.files.size() - localizers - unplaced - best->second.size();
    if (others) warnings.push_back("skipped " + std::to_string(others) + " image(s) of another orientation or size");
    Stack st;
    st.columns = best->first.columns;
    st.rows = best->first.rows;
    const std::string& first = best->second.front();
    const std::vector<double> o = decimals(trimmed(s.GetValue(first.c_str(), kOrientation)));
    for (std::size_t i = 0; i < 6; ++i) st.orientation[i] = o[i];
    st.pixel_spacing = decimals(trimmed(s.GetValue(first.c_str(), kPixelSpacing)));
    st.spacing_between = trimmed(s.GetValue(first.c_str(), kSpacingBetween));
    for (const auto& f : best->second) {
        const std::vector<double> p = decimals(trimmed(s.GetValue(f.c_str(), kPosition)));
        st.slices.push_back({f, {p[0], p[1], p[2]}, 0, trimmed(s.GetValue(f.c_str(), kSlope)), trimmed(s.GetValue(f.c_str(), kIntercept)), layouts.at(f)});
    }
    return st;
}

std::string world_point(const Vec3& p) {
    char b[96];
    std::snprintf(b, sizeof b, "(%.3f, %.3f, %.3f)", p[0], p[1], p[2]);
    return b;
}

// Sorts the slices along the normal and returns the slice spacing, after the checks dicom.hpp describes.
double sort_and_space(Stack& st, const Vec3& normal, const std::string& folder, std::string& source) {
    for (auto& s : st.slices) s.along = s.position[0] * normal[0] + s.position[1] * normal[1] + s.position[2] * normal[2];
    std::stable_sort(st.slices.begin(), st.slices.end(), [](const SliceInfo& a, const SliceInfo& b) { return a.along < b.along; });
    const std::size_t n = st.slices.size();
    for (std::size_t i = 1; i < n; ++i)
        if (st.slices[i].along - st.slices[i - 1].along < 1e-4)
            fail(folder, "two images at the same position " + world_point(st.slices[i].position) + ": " + fs::path(st.slices[i - 1].file).filename().string() +
                             " and " + fs::path(st.slices[i].file).filename().string());
    if (n < 2) {
        source = "one slice: SpacingBetweenSlices, else 1 mm";
        const auto v = parse_double(st.spacing_between);
        return v && *v > 0 ? *v : 1.0;
    }
    // Tilt: positions that move within the slice plane as they go along the normal.
    const SliceInfo &first = st.slices.front(), &last = st.slices.back();
    Vec3 d{};
    for (std::size_t a = 0; a < 3; ++a) d[a] = last.position[a] - first.position[a];
    const double along = last.along - first.along;
    double off = 0;
    for (std::size_t a = 0; a < 3; ++a) off += (d[a] - along * normal[a]) * (d[a] - along * normal[a]);
    off = std::sqrt(off);
    if (off > 0.01 + 1e-4 * along) {
        char b[64];
        std::snprintf(b, sizeof b, "%.2f", std::atan2(off, along) * 180 / 3.14159265358979323846);
        fail(folder, std::string("gantry tilt: the slice positions run ") + b + " degrees off the slice normal; resample the series onto an untilted grid first");
    }
    std::vector<double> gaps;
    for (std::size_t i = 1; i < n; ++i) gaps.push_back(st.slices[i].along - st.slices[i - 1].along);
    std::vector<double> sorted = gaps;
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>((sorted.size() - 1) / 2), sorted.end());
    // The lower median: a missing slice makes a gap larger, never smaller.
    const double median = sorted[(sorted.size() - 1) / 2], tol = std::max(0.01, 0.01 * median);
    for (std::size_t i = 0; i < gaps.size(); ++i) {
        if (std::fabs(gaps[i] - median) <= tol) continue;
        const double missing = std::round(gaps[i] / median) - 1;
        if (missing >= 1 && std::fabs(gaps[i] - (missing + 1) * median) <= tol * (missing + 1)) {
            Vec3 at{};
            for (std::size_t a = 0; a < 3; ++a) at[a] = st.slices[i].position[a] + median * normal[a];
            fail(folder, "missing slice: no image at " + world_point(at) + " between " + fs::path(st.slices[i].file).filename().string() + " and " +
                             fs::path(st.slices[i + 1].file).filename().string() + (missing > 1 ? " (" + std::to_string(static_cast<int>(missing)) + " missing)" : ""));
        }
        fail(folder, "slices are not evenly spaced: " + format_double(gaps[i]) + " mm between " + fs::path(st.slices[i].file).filename().string() + " and " +
                         fs::path(st.slices[i + 1].file).filename().string() + ", " + format_double(median) + " mm elsewhere");
    }
    const double mean = along / static_cast<double>(n - 1);
    const auto written = parse_double(st.spacing_between);
    if (written && std::fabs(*written - mean) < 1e-3) {
        source = "SpacingBetweenSlices (agrees with the positions)";
        return *written;
    }
    source = "positions";
    return mean;
}

// Stored value of pixel i of a decoded buffer, as the pixel format says (BitsStored honoured, sign extended).
struct PixelDecoder {
    int bytes = 2;
    bool is_signed = true;
    int bits_stored = 16;
    double value(const char* buf, std::size_t i) const {
        std::uint32_t raw = 0;
        if (bytes == 1) raw = static_cast<unsigned char>(buf[i]);
        else if (bytes == 2) {
            std::uint16_t v;
            std::memcpy(&v, buf + 2 * i, 2);
            raw = v;
        } else {
            std::memcpy(&raw, buf + 4 * i, 4);
        }
        if (bits_stored < 32) raw &= (std::uint32_t{1} << bits_stored) - 1;
        if (is_signed && bits_stored < 32 && (raw >> (bits_stored - 1)) & 1u) return static_cast<double>(static_cast<std::int64_t>(raw) - (std::int64_t{1} << bits_stored));
        return static_cast<double>(raw);
    }
};

// GDCM reads a file cut short inside its pixel data, padding the rest: the encoded size of what it read (meta
// header and data set, as lengths declare them) must fit in the file. A deflated data set is smaller in the file than
// inflated; the structural check inflated it and found every element whole.
bool file_is_short(const gdcm::File& f, const std::string& path) {
    const gdcm::TransferSyntax& ts = f.GetHeader().GetDataSetTransferSyntax();
    if (ts == gdcm::TransferSyntax::DeflatedExplicitVRLittleEndian) return false;
    const std::uint64_t data = ts.IsImplicit() ? f.GetDataSet().GetLength<gdcm::ImplicitDataElement>() : f.GetDataSet().GetLength<gdcm::ExplicitDataElement>();
    return f.GetHeader().GetFullLength() + data > file_size(path);
}

// HU = stored x slope + intercept, from the slice's own tags (no tags: the stored values are HU).
struct Rescale {
    double slope = 1, intercept = 0;
};
Rescale rescale_of(const SliceInfo& s) {
    Rescale r;
    if (!s.slope.empty()) {
        const auto v = parse_double(s.slope);
        if (!v) fail(s.file, "RescaleSlope '" + s.slope + "' is not a number");
        r.slope = *v;
    }
    if (!s.intercept.empty()) {
        const auto v = parse_double(s.intercept);
        if (!v) fail(s.file, "RescaleIntercept '" + s.intercept + "' is not a number");
        r.intercept = *v;
    }
    if (!(r.slope != 0) || !std::isfinite(r.slope) || !std::isfinite(r.intercept))
        fail(s.file, "RescaleSlope is " + format_double(r.slope) + ": HU cannot be computed");
    return r;
}

// The usual case (slope 1, intercept -1024 or 0; any integer pair): HU in integer arithmetic, exactly what the
// rounding double path gives, at memory speed (the double path costs a libm round per voxel).
struct IntegerRescale {
    std::int64_t slope = 1, intercept = 0;
};
std::optional<IntegerRescale> integer_rescale(const PixelDecoder& dec, const Rescale& r) {
    const auto whole = [](double x, double limit) { return std::abs(x) <= limit && x == std::trunc(x); };
    // int32 accumulators for 8/16-bit pixels stay exact while |stored x slope + intercept| < 2^31.
    if (!whole(r.slope, dec.bytes <= 2 ? 1 << 14 : 1 << 20) || !whole(r.intercept, 1 << 20)) return std::nullopt;
    return IntegerRescale{static_cast<std::int64_t>(r.slope), static_cast<std::int64_t>(r.intercept)};
}

template <class Raw, class Acc>
std::size_t convert_integers(const char* buf, std::size_t n, const PixelDecoder& dec, IntegerRescale r, std::int16_t* out) {
    const int bits = std::min<int>(dec.bits_stored, 8 * static_cast<int>(sizeof(Raw)));
    const Acc mask = bits >= 32 ? static_cast<Acc>(0xffffffffu) : static_cast<Acc>((std::uint64_t{1} << bits) - 1);
    const Acc sign = dec.is_signed ? static_cast<Acc>(std::uint64_t{1} << (bits - 1)) : 0;
    const Acc slope = static_cast<Acc>(r.slope), intercept = static_cast<Acc>(r.intercept);
    Acc clamped = 0;  // same width as the arithmetic, so the loop vectorises
    for (std::size_t i = 0; i < n; ++i) {
        Raw raw;
        std::memcpy(&raw, buf + i * sizeof(Raw), sizeof(Raw));
        const Acc v = ((static_cast<Acc>(raw) & mask) ^ sign) - sign;  // BitsStored, two's complement when signed
        const Acc hu = v * slope + intercept;
        const Acc c = std::clamp<Acc>(hu, -32768, 32767);
        clamped += c != hu;
        out[i] = static_cast<std::int16_t>(c);
    }
    return static_cast<std::size_t>(clamped);
}

// One slice's stored pixel values (little endian, in a buffer kept per decoding thread) and how to read them.
struct SlicePixels {
    const char* data = nullptr;
    PixelDecoder dec;
};

// How to read the stored values of a slice the walk found sound, after checking they are one grey sample of 8, 16 or
// 32 bits, signed or unsigned (an absent SamplesPerPixel is taken as 1, as GDCM takes it; without BitsAllocated
// nothing says how large a pixel is). BitsStored: all the allocated bits when absent or more than allocated.
PixelDecoder pixel_decoder(const std::string& file, const DicomPixelLayout& p) {
    const int samples = p.samples == DicomPixelLayout::kAbsent ? 1 : p.samples;
    if (samples != 1) fail(file, "not a greyscale image (" + std::to_string(samples) + " samples per pixel)");
    if (p.bits_allocated == DicomPixelLayout::kAbsent) fail(file, "no BitsAllocated (0028,0100): the pixel size is unknown");
    if (p.bits_allocated != 8 && p.bits_allocated != 16 && p.bits_allocated != 32) fail(file, std::to_string(p.bits_allocated) + "-bit pixels are not supported");
    if (p.pixel_representation != 0 && p.pixel_representation != 1)
        fail(file, "PixelRepresentation is " + std::to_string(p.pixel_representation) + ", neither 0 (unsigned) nor 1 (signed)");
    return {p.bits_allocated / 8, p.pixel_representation == 1, p.bits_stored > 0 ? std::min(p.bits_stored, p.bits_allocated) : p.bits_allocated};
}

// CT is stored as grey values (MONOCHROME2, rarely MONOCHROME1); another interpretation with one sample is a palette or
// a colour model nodulecad cannot turn into HU. Refused before GDCM reads the file: Debian's GDCM (assertions on)
// aborts on a PALETTE COLOR image whose lookup tables are missing (found by fuzzing). An absent one is taken as grey.
void check_photometric(const std::string& file, const std::string& photometric) {
    if (photometric.empty() || photometric == "MONOCHROME1" || photometric == "MONOCHROME2") return;
    fail(file, "not a greyscale image (PhotometricInterpretation '" + printable(photometric) + "')");
}

// Whether a slice's pixels can be read straight from its file: uncompressed, little endian, the series' size.
bool reads_natively(const DicomPixelLayout& p, std::int64_t columns, std::int64_t rows) {
    return p.native_little_endian && p.rows == rows && p.columns == columns;
}

// Uncompressed little-endian pixels read straight from the file at the offset the structural walk found: no DICOM
// parse, no copy through GDCM (the common case; half the cost of a read). Empty when the file is stored otherwise.
SlicePixels native_pixels(const std::string& file, const DicomPixelLayout& p, std::int64_t columns, std::int64_t rows) {
    if (!reads_natively(p, columns, rows)) return {};
    const PixelDecoder dec = pixel_decoder(file, p);
    const std::size_t bytes = static_cast<std::size_t>(columns * rows) * static_cast<std::size_t>(dec.bytes);
    if (p.length < bytes) fail(file, "the pixel data holds " + std::to_string(p.length) + " bytes, the image needs " + std::to_string(bytes));
    thread_local std::vector<char> buf;
    buf.resize(bytes);
    UniqueFile f(std::fopen(file.c_str(), "rb"));
    if (!f || ::fseeko(f.get(), static_cast<off_t>(p.offset), SEEK_SET) != 0 || std::fread(buf.data(), 1, bytes, f.get()) != bytes)
        fail(file, "cannot read the pixel data (truncated?)");
    return {buf.data(), dec};
}

// GDCM's decoders, tried in turn as its Bitmap::GetBuffer tries them, less one: Debian's GDCM falls back on a JPEG
// stream its IJG decoder refused to the PVRG codec, which writes the stream to a temporary file and runs the
// external pvrg-jpeg program on it through system() (found by fuzzing: a shell and a decoder from 1995 started on
// hostile bytes, each time). A stream GDCM's own decoders refuse is an error here.
class SliceImage : public gdcm::Image {
public:
    bool decode(char* buffer) const {
        bool lossy = false;
        return TryRAWCodec(buffer, lossy) || TryJPEGCodec(buffer, lossy) || TryJPEG2000Codec(buffer, lossy) || TryJPEGLSCodec(buffer, lossy) ||
               TryRLECodec(buffer, lossy);
    }
};

// Anything else (compressed, big endian, deflated): GDCM parses the file and its codecs decode the pixel data, into an
// image described by what the structural walk checked, never by GDCM's image reader. That reader interprets the
// whole header (rescale, overlays, lookup tables, ACR-NEMA leftovers), and Debian's GDCM (3.0.21, assertions on)
// aborted the process in it on hostile files (SamplesPerPixel 0, PALETTE COLOR without tables, a Recognition Code that
// is not ACR-NEMA's, then a rescale slope of 0: found by fuzzing, one after another). The pixel values need none of it:
// the codecs only need the size, the pixel format, grey and the transfer syntax.
SlicePixels gdcm_pixels(const std::string& file, const DicomPixelLayout& p, std::int64_t columns, std::int64_t rows) {
    if (p.rows != rows || p.columns != columns) fail(file, "image size differs from the series'");
    const PixelDecoder dec = pixel_decoder(file, p);
    gdcm::Reader r;
    r.SetFileName(file.c_str());
    if (!r.Read()) fail(file, "cannot read this DICOM image (truncated or not DICOM)");
    if (file_is_short(r.GetFile(), file)) fail(file, "truncated: the file ends before its pixel data does");
    const gdcm::DataSet& ds = r.GetFile().GetDataSet();
    const gdcm::Tag pixel_data(0x7fe0, 0x0010);
    if (!ds.FindDataElement(pixel_data) || ds.GetDataElement(pixel_data).IsEmpty()) fail(file, "no pixel data");
    const gdcm::TransferSyntax& ts = r.GetFile().GetHeader().GetDataSetTransferSyntax();
    SliceImage im;
    im.SetNumberOfDimensions(2);
    im.SetDimension(0, static_cast<unsigned int>(columns));
    im.SetDimension(1, static_cast<unsigned int>(rows));
    const auto bits = static_cast<unsigned short>(8 * dec.bytes), stored = static_cast<unsigned short>(dec.bits_stored);
    im.SetPixelFormat(gdcm::PixelFormat(1, bits, stored, static_cast<unsigned short>(stored - 1), dec.is_signed ? 1 : 0));
    im.SetPhotometricInterpretation(p.photometric == "MONOCHROME1" ? gdcm::PhotometricInterpretation::MONOCHROME1 : gdcm::PhotometricInterpretation::MONOCHROME2);
    im.SetTransferSyntax(ts);
    im.SetDataElement(ds.GetDataElement(pixel_data));
    const std::size_t need = static_cast<std::size_t>(columns * rows) * static_cast<std::size_t>(dec.bytes);
    // Uncompressed pixels shorter than the image: GDCM's raw codec would copy what there is and leave the rest unset.
    const gdcm::ByteValue* raw = im.GetDataElement().GetByteValue();
    if (!ts.IsEncapsulated() && (!raw || raw->GetLength() < need))
        fail(file, "the pixel data holds " + std::to_string(raw ? static_cast<std::uint32_t>(raw->GetLength()) : 0u) + " bytes, the image needs " + std::to_string(need));
    thread_local std::vector<char> buf;
    buf.resize(im.GetBufferLength());
    if (buf.size() < need || !im.decode(buf.data()))
        fail(file, std::string("cannot decode the pixel data (transfer syntax ") + ts.GetString() + ")");
    return {buf.data(), dec};
}

// Decodes one slice into `out` (columns x rows HU). Returns how many voxels were clamped to int16.
std::size_t read_slice(const SliceInfo& slice, std::int64_t columns, std::int64_t rows, std::int16_t* out) {
    check_photometric(slice.file, slice.pixels.photometric);
    const Rescale rescale = rescale_of(slice);
    SlicePixels px = native_pixels(slice.file, slice.pixels, columns, rows);
    if (!px.data) {
        px = gdcm_pixels(slice.file, slice.pixels, columns, rows);
    }
    const std::size_t n = static_cast<std::size_t>(columns * rows);
    const PixelDecoder& dec = px.dec;
    if (const auto fast = integer_rescale(dec, rescale)) {
        if (dec.bytes == 1) return convert_integers<std::uint8_t, std::int32_t>(px.data, n, dec, *fast, out);
        if (dec.bytes == 2) return convert_integers<std::uint16_t, std::int32_t>(px.data, n, dec, *fast, out);
        return convert_integers<std::uint32_t, std::int64_t>(px.data, n, dec, *fast, out);
    }
    std::size_t clamped = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double hu = std::round(dec.value(px.data, i) * rescale.slope + rescale.intercept);
        const double c = std::clamp(hu, -32768.0, 32767.0);
        clamped += c != hu;
        out[i] = static_cast<std::int16_t>(c);
    }
    return clamped;
}

// GDCM's decoders as Debian builds them (IJG, CharLS, OpenJPEG, its RLE decoder) assert on hostile compressed
// streams, and one corrupted the heap (found by fuzzing, 2026-12-03): what they decode is decoded in a child process,
// so that a decoder's crash or stall becomes an error naming the slice. What a child leaves of each slice, in memory
// shared with it (read only after it has exited):
struct IsolatedSlice {
    enum State : std::int32_t { kWaiting, kStarted, kDone, kFailed };
    std::int32_t state = kWaiting;
    std::uint64_t clamped = 0;
    char message[1024] = {};
};
static_assert(sizeof(IsolatedSlice) % 8 == 0, "records keep the planes after them aligned");

// A slice that no decoder finishes for this long has stopped it (a plane decodes in well under a second); the child
// is then stopped and one more started (a lock held by another thread at the fork can freeze a child: not twice).
constexpr double kDecodeStallSeconds = 60;

// Decodes slices `which` of the stack into `v` in a child process, and notes each one's clamped voxel count.
void decode_isolated(const Stack& st, const std::vector<std::size_t>& which, int threads, Volume<std::int16_t>& v, std::vector<std::size_t>& clamped) {
    const std::size_t n = which.size(), plane = static_cast<std::size_t>(st.columns * st.rows);
    SharedBytes shared(n * sizeof(IsolatedSlice) + n * plane * sizeof(std::int16_t));
    auto* records = new (shared.data()) IsolatedSlice[n];
    auto* planes = reinterpret_cast<std::int16_t*>(shared.data() + n * sizeof(IsolatedSlice));
    const ChildEnd end = run_in_child(
        [&](const std::function<void()>& progress) {
            parallel_for(static_cast<std::int64_t>(n), threads, [&](std::int64_t i) {
                const auto u = static_cast<std::size_t>(i);
                IsolatedSlice& r = records[u];
                r.state = IsolatedSlice::kStarted;
                try {
                    r.clamped = read_slice(st.slices[which[u]], st.columns, st.rows, planes + u * plane);
                    r.state = IsolatedSlice::kDone;
                } catch (const std::exception& e) {
                    std::snprintf(r.message, sizeof r.message, "%s", e.what());
                    r.state = IsolatedSlice::kFailed;
                }
                progress();
            });
        },
        kDecodeStallSeconds, 2);
    if (!end.clean) {
        std::vector<std::string> started;
        for (std::size_t u = 0; u < n; ++u)
            if (records[u].state == IsolatedSlice::kStarted) started.push_back(st.slices[which[u]].file);
        const std::string what = "GDCM's decoder " + end.why + " on this image's compressed pixel data (broken, or beyond the decoder)";
        if (started.empty()) fail(st.slices[which.front()].file, what);
        std::string others;
        for (std::size_t k = 1; k < started.size(); ++k) others += (others.empty() ? "" : ", ") + fs::path(started[k]).filename().string();
        fail(started.front(), what + (others.empty() ? "" : " (or on " + others + ", decoded at the same time)"));
    }
    for (std::size_t u = 0; u < n; ++u)
        if (records[u].state == IsolatedSlice::kFailed) throw Error(records[u].message);
    for (std::size_t u = 0; u < n; ++u) {
        if (records[u].state != IsolatedSlice::kDone) fail(st.slices[which[u]].file, "the decoding process left this image undecoded");
        std::memcpy(v.voxels.data() + which[u] * plane, planes + u * plane, plane * sizeof(std::int16_t));
        clamped[which[u]] = records[u].clamped;
    }
}

}  // namespace

Volume<std::int16_t> read_dicom_series(const std::string& folder, const DicomReadOptions& o, DicomReadInfo* info) {
    std::map<std::string, DicomPixelLayout> layouts;
    const DicomSeries series = choose_series(list_series(folder, &layouts), folder, o.series);
    DicomReadInfo in;
    in.series_uid = series.uid;
    in.modality = series.modality;
    Stack st = stack_of(series, layouts, folder, in.warnings);
    const Vec3 row{st.orientation[0], st.orientation[1], st.orientation[2]}, col{st.orientation[3], st.orientation[4], st.orientation[5]};
    Vec3 normal{row[1] * col[2] - row[2] * col[1], row[2] * col[0] - row[0] * col[2], row[0] * col[1] - row[1] * col[0]};
    Geometry g;
    g.direction = {row[0], col[0], normal[0], row[1], col[1], normal[1], row[2], col[2], normal[2]};
    if (!is_orthonormal(g.direction, 1e-3)) fail(folder, "ImageOrientationPatient is not two orthogonal unit vectors");
    if (st.pixel_spacing.size() != 2 || !(st.pixel_spacing[0] > 0) || !(st.pixel_spacing[1] > 0)) fail(folder, "no usable PixelSpacing");
    const double dz = sort_and_space(st, normal, folder, in.spacing_source);
    g.size = {st.columns, st.rows, static_cast<std::int64_t>(st.slices.size())};
    g.spacing = {st.pixel_spacing[1], st.pixel_spacing[0], dz};
    g.origin = st.slices.front().position;
    validate(g, folder.c_str());
    const auto voxels = static_cast<std::uint64_t>(g.voxel_count());
    check_scan_memory(voxels, 2, std::to_string(g.size[0]) + "x" + std::to_string(g.size[1]) + "x" + std::to_string(g.size[2]), folder);
    if (voxels > o.max_bytes / 2) fail(folder, "the series needs more than the memory limit of " + std::to_string(o.max_bytes) + " bytes");
    Volume<std::int16_t> v(g);
    const std::size_t plane = static_cast<std::size_t>(st.columns * st.rows);
    std::vector<std::size_t> clamped(st.slices.size(), 0);
    // Uncompressed little-endian slices straight from the files, here; the rest through GDCM, in a child process.
    std::vector<std::size_t> direct, isolated;
    for (std::size_t u = 0; u < st.slices.size(); ++u) (reads_natively(st.slices[u].pixels, st.columns, st.rows) ? direct : isolated).push_back(u);
    parallel_for(static_cast<std::int64_t>(direct.size()), std::max(1, o.threads), [&](std::int64_t k) {
        const std::size_t u = direct[static_cast<std::size_t>(k)];
        clamped[u] = read_slice(st.slices[u], st.columns, st.rows, v.voxels.data() + u * plane);
    });
    if (!isolated.empty()) decode_isolated(st, isolated, std::max(1, o.threads), v, clamped);
    std::size_t total = 0;
    for (auto c : clamped) total += c;
    if (total) in.warnings.push_back(std::to_string(total) + " voxels outside the int16 HU range were clamped");
    in.slices = st.slices.size();
    if (info) *info = in;
    return v;
}

namespace {

// "2.25.<128-bit number>": a DICOM UID from two 64-bit hashes of a name (the UUID-derived form), so a synthetic
// series gets the same UIDs every time it is written.
__extension__ typedef unsigned __int128 Uint128;

std::string derived_uid(const std::string& name) {
    Uint128 v = (static_cast<Uint128>(mix64(hash_string(name))) << 64) | mix64(hash_string(name + "#"));
    std::string digits;
    do {
        digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
        v /= 10;
    } while (v != 0);
    return "2.25." + digits;
}

// A DS value: the shortest decimal that reads back to the same double, or as many digits as 16 characters hold.
std::string decimal_string(double v) {
    std::string s = format_double(v);
    if (s.size() > 16) {
        for (int precision = 15; precision > 1 && s.size() > 16; --precision) {
            char b[40];
            std::snprintf(b, sizeof b, "%.*g", precision, v);
            s = b;
        }
    }
    return s;
}

std::string decimals_string(std::initializer_list<double> values) {
    std::string s;
    for (double v : values) s += (s.empty() ? "" : "\\") + decimal_string(v);
    return s;
}

template <std::uint16_t G, std::uint16_t E> void put_string(gdcm::DataSet& ds, const gdcm::VR& vr, const std::string& value) {
    gdcm::DataElement de(gdcm::Tag(G, E));
    de.SetVR(vr);
    std::string v = value;
    if (v.size() % 2) v += vr == gdcm::VR::UI ? '\0' : ' ';  // even length
    de.SetByteValue(v.data(), static_cast<std::uint32_t>(v.size()));
    ds.Replace(de);
}

template <std::uint16_t G, std::uint16_t E> void put_us(gdcm::DataSet& ds, std::uint16_t value) {
    gdcm::Attribute<G, E> a;
    a.SetValue(value);
    ds.Replace(a.GetAsDataElement());
}

}  // namespace

void write_dicom_series(const std::string& folder, const Volume<std::int16_t>& hu, const DicomWriteOptions& o) {
    quiet_gdcm();
    const Geometry& g = hu.geometry;
    validate(g, folder.c_str());
    if (o.series_uid.empty() || o.series_uid.size() > 64) fail(folder, "a series needs a SeriesInstanceUID of 1 to 64 characters");
    if (!is_orthonormal(g.direction, 1e-6)) fail(folder, "DICOM holds only orthonormal directions");
    if (g.size[0] > 65535 || g.size[1] > 65535) fail(folder, "DICOM images have at most 65535 rows and columns");
    std::int16_t lo = 0;
    for (auto v : hu.voxels) lo = std::min(lo, v);
    const int intercept = o.unsigned_storage ? (lo >= -1024 ? -1024 : -1024 * static_cast<int>(std::ceil(-static_cast<double>(lo) / 1024))) : 0;
    const std::string study = o.study_uid.empty() ? derived_uid(o.series_uid + "/study") : o.study_uid;
    const std::string frame = derived_uid(o.series_uid + "/frame");
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) fail(folder, "cannot create the folder: " + ec.message());
    const IndexWorldTransform t(g);
    const std::size_t plane = static_cast<std::size_t>(g.size[0] * g.size[1]);
    const std::int64_t nz = g.size[2];
    for (std::int64_t k = 0; k < nz; ++k) {
        const std::int64_t file_index = o.reverse_file_order ? nz - 1 - k : k;
        gdcm::Writer w;
        gdcm::DataSet& ds = w.GetFile().GetDataSet();
        const std::string sop = derived_uid(o.series_uid + "/" + std::to_string(k));
        put_string<0x0008, 0x0005>(ds, gdcm::VR::CS, "ISO_IR 100");
        put_string<0x0008, 0x0008>(ds, gdcm::VR::CS, "ORIGINAL\\PRIMARY\\AXIAL");
        put_string<0x0008, 0x0016>(ds, gdcm::VR::UI, kCtImageStorage);
        put_string<0x0008, 0x0018>(ds, gdcm::VR::UI, sop);
        put_string<0x0008, 0x0020>(ds, gdcm::VR::DA, "20000101");
        put_string<0x0008, 0x0060>(ds, gdcm::VR::CS, "CT");
        put_string<0x0008, 0x0070>(ds, gdcm::VR::LO, "nodulecad synth");
        put_string<0x0010, 0x0010>(ds, gdcm::VR::PN, o.patient_id);
        put_string<0x0010, 0x0020>(ds, gdcm::VR::LO, o.patient_id);
        put_string<0x0018, 0x0050>(ds, gdcm::VR::DS, decimal_string(o.slice_thickness > 0 ? o.slice_thickness : g.spacing[2]));
        put_string<0x0018, 0x0088>(ds, gdcm::VR::DS, decimal_string(g.spacing[2]));
        put_string<0x0020, 0x000d>(ds, gdcm::VR::UI, study);
        put_string<0x0020, 0x000e>(ds, gdcm::VR::UI, o.series_uid);
        put_string<0x0020, 0x0011>(ds, gdcm::VR::IS, "1");
        put_string<0x0020, 0x0013>(ds, gdcm::VR::IS, std::to_string(file_index + 1));
        const Vec3 p = t.to_world({0, 0, static_cast<double>(k)});
        put_string<0x0020, 0x0032>(ds, gdcm::VR::DS, decimals_string({p[0], p[1], p[2]}));
        const Mat3& d = g.direction;
        put_string<0x0020, 0x0037>(ds, gdcm::VR::DS, decimals_string({d[0], d[3], d[6], d[1], d[4], d[7]}));
        put_string<0x0020, 0x0052>(ds, gdcm::VR::UI, frame);
        put_us<0x0028, 0x0002>(ds, 1);
        put_string<0x0028, 0x0004>(ds, gdcm::VR::CS, "MONOCHROME2");
        put_us<0x0028, 0x0010>(ds, static_cast<std::uint16_t>(g.size[1]));
        put_us<0x0028, 0x0011>(ds, static_cast<std::uint16_t>(g.size[0]));
        put_string<0x0028, 0x0030>(ds, gdcm::VR::DS, decimals_string({g.spacing[1], g.spacing[0]}));
        put_us<0x0028, 0x0100>(ds, 16);
        put_us<0x0028, 0x0101>(ds, 16);
        put_us<0x0028, 0x0102>(ds, 15);
        put_us<0x0028, 0x0103>(ds, o.unsigned_storage ? 0 : 1);
        put_string<0x0028, 0x1052>(ds, gdcm::VR::DS, std::to_string(intercept));
        put_string<0x0028, 0x1053>(ds, gdcm::VR::DS, "1");
        put_string<0x0028, 0x1054>(ds, gdcm::VR::LO, "HU");
        std::vector<std::uint16_t> stored(plane);
        const std::int16_t* src = hu.voxels.data() + static_cast<std::size_t>(k) * plane;
        for (std::size_t i = 0; i < plane; ++i) stored[i] = static_cast<std::uint16_t>(static_cast<int>(src[i]) - intercept);
        gdcm::DataElement pixels(gdcm::Tag(0x7fe0, 0x0010));
        pixels.SetVR(gdcm::VR::OW);
        pixels.SetByteValue(reinterpret_cast<const char*>(stored.data()), static_cast<std::uint32_t>(plane * 2));
        ds.Replace(pixels);
        gdcm::FileMetaInformation& meta = w.GetFile().GetHeader();
        meta.SetDataSetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
        char name[32];
        std::snprintf(name, sizeof name, "IM%04lld.dcm", static_cast<long long>(file_index));
        const std::string path = (fs::path(folder) / name).string();
        std::ostringstream bytes;
        w.SetStream(bytes);
        if (!w.Write()) fail(path, "GDCM could not write this DICOM file");
        write_file_atomically(path, bytes.str());
    }
}

#endif

}  // namespace nodulecad
