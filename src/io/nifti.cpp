#include "nodulecad/io/nifti.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <type_traits>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/memory_limit.hpp"
#include "nodulecad/core/files.hpp"

namespace nodulecad {

namespace fs = std::filesystem;

bool is_nifti_path(const std::string& path) {
    const std::string name = fs::path(path).filename().string();
    const auto ends = [&](const char* s) {
        const std::size_t n = std::strlen(s);
        return name.size() > n && name.compare(name.size() - n, n, s) == 0;
    };
    return ends(".nii") || ends(".nii.gz");
}

std::string nifti_stem(const std::string& path) {
    std::string name = fs::path(path).filename().string();
    for (const char* ending : {".nii.gz", ".nii"}) {
        const std::size_t n = std::strlen(ending);
        if (name.size() > n && name.compare(name.size() - n, n, ending) == 0) return name.substr(0, name.size() - n);
    }
    return name;
}

namespace {

// Little-endian (or swapped) fields of the header bytes.
class Fields {
public:
    Fields(std::string_view bytes, bool swap) : b_(bytes), swap_(swap) {}
    template <class T> T at(std::size_t offset) const {
        T v;
        std::memcpy(&v, b_.data() + offset, sizeof(T));
        if (swap_) {
            auto* p = reinterpret_cast<unsigned char*>(&v);
            std::reverse(p, p + sizeof(T));
        }
        return v;
    }

private:
    std::string_view b_;
    bool swap_;
};

struct DatatypeInfo {
    int code;
    const char* name;
    int bits;
    bool supported;
    ElementType type;
};
constexpr DatatypeInfo kDatatypes[] = {
    {2, "uint8", 8, true, ElementType::UInt8},        {4, "int16", 16, true, ElementType::Int16},
    {8, "int32", 32, true, ElementType::Int32},       {16, "float32", 32, true, ElementType::Float32},
    {64, "float64", 64, true, ElementType::Float64},  {256, "int8", 8, true, ElementType::Int8},
    {512, "uint16", 16, true, ElementType::UInt16},   {768, "uint32", 32, true, ElementType::UInt32},
    {1024, "int64", 64, true, ElementType::Float64},  {1280, "uint64", 64, true, ElementType::Float64},
    {1, "binary", 1, false, ElementType::UInt8},      {32, "complex64", 64, false, ElementType::UInt8},
    {128, "rgb24", 24, false, ElementType::UInt8},    {1536, "float128", 128, false, ElementType::UInt8},
    {1792, "complex128", 128, false, ElementType::UInt8}, {2048, "complex256", 256, false, ElementType::UInt8},
    {2304, "rgba32", 32, false, ElementType::UInt8},
};

void read_version_1(const Fields& f, NiftiHeader& h) {
    for (std::size_t i = 0; i < 8; ++i) h.dim[i] = f.at<std::int16_t>(40 + 2 * i);
    h.datatype = f.at<std::int16_t>(70);
    h.bitpix = f.at<std::int16_t>(72);
    for (std::size_t i = 0; i < 8; ++i) h.pixdim[i] = f.at<float>(76 + 4 * i);
    const double offset = f.at<float>(108);
    h.vox_offset = std::isfinite(offset) && offset == std::floor(offset) ? static_cast<std::int64_t>(offset) : -1;
    h.scl_slope = f.at<float>(112);
    h.scl_inter = f.at<float>(116);
    h.qform_code = f.at<std::int16_t>(252);
    h.sform_code = f.at<std::int16_t>(254);
    for (std::size_t i = 0; i < 3; ++i) h.quatern[i] = f.at<float>(256 + 4 * i);
    for (std::size_t i = 0; i < 3; ++i) h.qoffset[i] = f.at<float>(268 + 4 * i);
    for (std::size_t i = 0; i < 12; ++i) h.srow[i] = f.at<float>(280 + 4 * i);
}

void read_version_2(const Fields& f, NiftiHeader& h) {
    h.datatype = f.at<std::int16_t>(12);
    h.bitpix = f.at<std::int16_t>(14);
    for (std::size_t i = 0; i < 8; ++i) h.dim[i] = f.at<std::int64_t>(16 + 8 * i);
    for (std::size_t i = 0; i < 8; ++i) h.pixdim[i] = f.at<double>(104 + 8 * i);
    h.vox_offset = f.at<std::int64_t>(168);
    h.scl_slope = f.at<double>(176);
    h.scl_inter = f.at<double>(184);
    h.qform_code = f.at<std::int32_t>(344);
    h.sform_code = f.at<std::int32_t>(348);
    for (std::size_t i = 0; i < 3; ++i) h.quatern[i] = f.at<double>(352 + 8 * i);
    for (std::size_t i = 0; i < 3; ++i) h.qoffset[i] = f.at<double>(376 + 8 * i);
    for (std::size_t i = 0; i < 12; ++i) h.srow[i] = f.at<double>(400 + 8 * i);
}

// dim[] holds one 3D (or 2D) image: 4D and higher only with one volume.
void check_dims(const NiftiHeader& h, const std::string& source) {
    const std::int64_t nd = h.dim[0];
    if (nd < 2 || nd > 7) fail(source, "dim[0] is " + std::to_string(nd) + ", a NIfTI volume has 2 to 7 dimensions (3 for a scan)");
    for (std::int64_t a = 1; a <= nd; ++a)
        if (h.dim[static_cast<std::size_t>(a)] < 1) fail(source, "dim[" + std::to_string(a) + "] is " + std::to_string(h.dim[static_cast<std::size_t>(a)]) + ", not positive");
    if (nd >= 4 && h.dim[4] > 1) fail(source, "4D data with " + std::to_string(h.dim[4]) + " volumes: only one volume (a 3D scan) is supported");
    for (std::int64_t a = 5; a <= nd; ++a)
        if (h.dim[static_cast<std::size_t>(a)] > 1) fail(source, std::to_string(nd) + "D data (dim[" + std::to_string(a) + "] = " + std::to_string(h.dim[static_cast<std::size_t>(a)]) + ") is not supported: a scan has 3 dimensions");
    for (std::int64_t a = 1; a <= std::min<std::int64_t>(nd, 3); ++a) {
        const double p = h.pixdim[static_cast<std::size_t>(a)];
        if (!(std::isfinite(p) && p != 0)) fail(source, "pixdim[" + std::to_string(a) + "] is " + std::to_string(p) + ": the voxel size must be positive");
    }
}

}  // namespace

NiftiHeader parse_nifti_header(std::string_view bytes, const std::string& source) {
    if (bytes.size() < 4) fail(source, "not a NIfTI file (shorter than a header)");
    NiftiHeader h;
    std::int32_t size;
    std::memcpy(&size, bytes.data(), 4);
    std::int32_t swapped_size = size;
    std::reverse(reinterpret_cast<unsigned char*>(&swapped_size), reinterpret_cast<unsigned char*>(&swapped_size) + 4);
    if (size == 348 || size == 540) {
        h.swapped = false;
    } else if (swapped_size == 348 || swapped_size == 540) {
        h.swapped = true;
        size = swapped_size;
    } else {
        fail(source, "not a NIfTI file (sizeof_hdr is neither 348 nor 540)");
    }
    h.version = size == 348 ? 1 : 2;
    if (bytes.size() < static_cast<std::size_t>(size)) fail(source, "truncated NIfTI header (" + std::to_string(bytes.size()) + " of " + std::to_string(size) + " bytes)");
    const Fields f(bytes, h.swapped);
    if (h.version == 1) {
        const std::string_view magic = bytes.substr(344, 4);
        if (magic == std::string_view("ni1\0", 4)) fail(source, "a two-file NIfTI (.hdr + .img): convert it to one .nii file");
        if (magic != std::string_view("n+1\0", 4)) fail(source, "not a NIfTI-1 file (magic is not \"n+1\")");
        read_version_1(f, h);
    } else {
        const std::string_view magic = bytes.substr(4, 8);
        if (magic.substr(0, 4) == std::string_view("ni2\0", 4)) fail(source, "a two-file NIfTI-2 (.hdr + .img): convert it to one .nii file");
        if (magic != std::string_view("n+2\0\r\n\032\n", 8)) fail(source, "not a NIfTI-2 file (magic is not \"n+2\")");
        read_version_2(f, h);
    }
    check_dims(h, source);
    const DatatypeInfo* dt = nullptr;
    for (const auto& d : kDatatypes)
        if (d.code == h.datatype) dt = &d;
    if (!dt) fail(source, "unknown NIfTI datatype " + std::to_string(h.datatype));
    if (!dt->supported) fail(source, std::string("NIfTI datatype ") + dt->name + " is not supported (a scan holds one number per voxel)");
    if (h.bitpix != dt->bits) fail(source, "bitpix " + std::to_string(h.bitpix) + " does not match datatype " + dt->name);
    h.element_type = dt->type;
    h.wide_integers = h.datatype == 1024 || h.datatype == 1280;
    if (h.vox_offset < size) fail(source, "vox_offset " + std::to_string(h.vox_offset) + " is not a byte offset at or after the " + std::to_string(size) + "-byte header");
    return h;
}

namespace {

// Rotation of the unit quaternion (a, b, c, d), a from b, c, d (NIfTI's "method 2").
Mat3 quaternion_rotation(double b, double c, double d) {
    double a = 1 - (b * b + c * c + d * d);
    if (a < 1e-7) {  // b, c, d a unit vector already: a 180-degree turn
        const double n = std::sqrt(b * b + c * c + d * d);
        b /= n, c /= n, d /= n;
        a = 0;
    } else {
        a = std::sqrt(a);
    }
    return {a * a + b * b - c * c - d * d, 2 * (b * c - a * d),         2 * (b * d + a * c),
            2 * (b * c + a * d),         a * a + c * c - b * b - d * d, 2 * (c * d - a * b),
            2 * (b * d - a * c),         2 * (c * d + a * b),         a * a + d * d - c * c - b * b};
}

// The sform's 3x3 part with unit columns, when that is an orthonormal matrix (no shear): the sform then places the
// voxels with a rotation ITK can represent.
bool sform_rotation(const NiftiHeader& h, Mat3& rotation) {
    Mat3 m{};
    for (std::size_t r = 0; r < 3; ++r)
        for (std::size_t c = 0; c < 3; ++c) m[3 * r + c] = h.srow[4 * r + c];
    for (std::size_t c = 0; c < 3; ++c) {
        const double n = std::sqrt(m[c] * m[c] + m[3 + c] * m[3 + c] + m[6 + c] * m[6 + c]);
        if (!(n > 0) || !std::isfinite(n)) return false;
        for (std::size_t r = 0; r < 3; ++r) m[3 * r + c] /= n;
    }
    rotation = m;
    return is_orthonormal(m, 1e-4);
}

}  // namespace

NiftiPlacement nifti_placement(const NiftiHeader& h, const std::string& source) {
    NiftiPlacement p;
    Geometry& g = p.geometry;
    const std::int64_t nd = h.dim[0];
    for (std::size_t a = 0; a < 3; ++a) {
        g.size[a] = static_cast<std::int64_t>(a) < nd ? h.dim[a + 1] : 1;
        g.spacing[a] = static_cast<std::int64_t>(a) < nd ? std::fabs(h.pixdim[a + 1]) : 1.0;
    }
    const bool has_q = h.qform_code > 0, has_s = h.sform_code > 0;
    if (!has_q && !has_s) {
        p.transform = "none";
        p.warnings.push_back("neither qform nor sform is set: identity direction at the origin");
        return p;
    }
    // The qform's world placement (RAS).
    const double qfac = h.pixdim[0] < 0 ? -1.0 : 1.0;
    Mat3 q_dir = quaternion_rotation(h.quatern[0], h.quatern[1], h.quatern[2]);
    for (std::size_t r = 0; r < 3; ++r) q_dir[3 * r + 2] *= qfac;
    Mat3 s_dir{};
    const bool s_rigid = has_s && sform_rotation(h, s_dir);
    bool use_s = false;
    if (s_rigid) {
        bool agree = has_q;
        for (std::size_t r = 0; r < 3 && agree; ++r) {
            for (std::size_t c = 0; c < 3; ++c) agree = agree && std::fabs(s_dir[3 * r + c] - q_dir[3 * r + c]) < 1e-4;
            agree = agree && std::fabs(h.srow[4 * r + 3] - h.qoffset[r]) < 1e-4;
        }
        use_s = !has_q || h.sform_code == 1 || agree;
    } else if (has_s && !has_q) {
        fail(source, "the sform has shear (it is not a rotation and scaling) and there is no qform");
    }
    Mat3 ras;
    Vec3 origin;
    if (use_s) {
        p.transform = "sform";
        ras = s_dir;
        origin = {h.srow[3], h.srow[7], h.srow[11]};
    } else {
        p.transform = "qform";
        ras = q_dir;
        origin = {h.qoffset[0], h.qoffset[1], h.qoffset[2]};
    }
    // RAS to LPS: x and y change sign.
    for (std::size_t c = 0; c < 3; ++c) {
        ras[c] = -ras[c];
        ras[3 + c] = -ras[3 + c];
    }
    g.direction = ras;
    g.origin = {-origin[0], -origin[1], origin[2]};
    if (std::fabs(determinant(g.direction)) < 1e-6) fail(source, "the " + p.transform + " gives a singular direction matrix");
    return p;
}

namespace {

// A NIfTI file read front to back through zlib, which passes plain files through and inflates gzip ones, so the
// voxels go straight into the volume's memory (no copy of the whole file first). The voxel bytes are counted from
// vox_offset; a short read is an error naming what was expected.
class NiftiStream {
public:
    explicit NiftiStream(const std::string& path) : path_(path) {
        file_ = gzopen(path.c_str(), "rb");
        if (!file_) fail(path, "cannot open the NIfTI file");
        gzbuffer(file_, 1u << 20);
    }
    ~NiftiStream() { gzclose(file_); }
    NiftiStream(const NiftiStream&) = delete;
    NiftiStream& operator=(const NiftiStream&) = delete;

    // Up to `bytes` bytes; fewer only at the end of the data.
    std::size_t read_some(void* dst, std::size_t bytes) {
        std::size_t got = 0;
        auto* out = static_cast<char*>(dst);
        while (got < bytes) {
            const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(bytes - got, 1u << 30));
            const int r = gzread(file_, out + got, chunk);
            if (r < 0) corrupt();
            if (r == 0) break;
            got += static_cast<std::size_t>(r);
        }
        consumed_ += got;
        return got;
    }
    bool gzipped() const { return gzdirect(file_) == 0; }
    std::uint64_t consumed() const { return consumed_; }
    // After a short read: a gzip stream that ends early says so; a complete one is simply too short.
    bool gzip_cut_short() {
        int code = Z_OK;
        gzerror(file_, &code);
        return gzipped() && code == Z_BUF_ERROR;
    }

private:
    [[noreturn]] void corrupt() {
        int code = Z_OK;
        const char* msg = gzerror(file_, &code);
        fail(path_, std::string("corrupt gzip data (zlib: ") + (msg ? msg : "error " + std::to_string(code)) + ")");
    }
    gzFile file_ = nullptr;
    std::string path_;
    std::uint64_t consumed_ = 0;
};

// Where the voxel bytes come from: what the header read already holds past vox_offset, then the stream.
struct VoxelReader {
    NiftiStream& stream;
    std::string_view early;  // bytes already read that belong to the voxels
    const NiftiHeader& h;
    std::uint64_t voxel_bytes;
    const std::string& path;

    void read(void* dst, std::size_t bytes) {
        const std::size_t first = std::min(bytes, early.size());
        if (first) std::memcpy(dst, early.data(), first);  // early may be empty with a null data(): memcpy's UB
        early.remove_prefix(first);
        if (first < bytes && stream.read_some(static_cast<char*>(dst) + first, bytes - first) < bytes - first) short_read();
    }
    [[noreturn]] void short_read() {
        if (stream.gzip_cut_short()) fail(path, "truncated gzip data (the compressed stream ends early)");
        const std::uint64_t need = static_cast<std::uint64_t>(h.vox_offset) + voxel_bytes;
        fail(path, std::string(stream.gzipped() ? "truncated data (decompressed)" : "truncated data") + ": vox_offset " + std::to_string(h.vox_offset) +
                       " + " + std::to_string(voxel_bytes) + " voxel bytes needs " + std::to_string(need) + " bytes, the file holds " +
                       std::to_string(stream.consumed()));
    }
};

template <class S> void swap_bytes(S* data, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        auto* p = reinterpret_cast<unsigned char*>(data + i);
        std::reverse(p, p + sizeof(S));
    }
}

// The voxels in their stored type (64-bit integers as double: no volume type holds them).
template <class S> AnyVolume stored_volume(VoxelReader& r, const Geometry& g, std::size_t n) {
    if constexpr (std::is_same_v<S, std::int64_t> || std::is_same_v<S, std::uint64_t>) {
        std::vector<S> raw(n);
        r.read(raw.data(), n * sizeof(S));
        if (r.h.swapped) swap_bytes(raw.data(), n);
        Volume<double> v(g);
        std::transform(raw.begin(), raw.end(), v.voxels.begin(), [](S x) { return static_cast<double>(x); });
        return v;
    } else {
        Volume<S> v(g);
        r.read(v.voxels.data(), n * sizeof(S));
        if (r.h.swapped && sizeof(S) > 1) swap_bytes(v.voxels.data(), n);
        return v;
    }
}

AnyVolume decode_voxels(VoxelReader& r, const Geometry& g, std::size_t n) {
    switch (r.h.datatype) {
        case 2: return stored_volume<std::uint8_t>(r, g, n);
        case 4: return stored_volume<std::int16_t>(r, g, n);
        case 8: return stored_volume<std::int32_t>(r, g, n);
        case 16: return stored_volume<float>(r, g, n);
        case 64: return stored_volume<double>(r, g, n);
        case 256: return stored_volume<std::int8_t>(r, g, n);
        case 512: return stored_volume<std::uint16_t>(r, g, n);
        case 768: return stored_volume<std::uint32_t>(r, g, n);
        case 1024: return stored_volume<std::int64_t>(r, g, n);
        default: return stored_volume<std::uint64_t>(r, g, n);
    }
}

// y = slope x + inter, to float (double for double data), as ITK does for a non-identity scaling.
AnyVolume scaled(AnyVolume&& v, double slope, double inter) {
    return std::visit(
        [&](auto&& vol) -> AnyVolume {
            using T = typename std::decay_t<decltype(vol)>::value_type;
            using Out = std::conditional_t<std::is_same_v<T, double>, double, float>;
            Volume<Out> out(vol.geometry);
            for (std::size_t i = 0; i < vol.voxels.size(); ++i) out.voxels[i] = static_cast<Out>(slope * static_cast<double>(vol.voxels[i]) + inter);
            return out;
        },
        std::move(v));
}

}  // namespace

AnyVolume read_nifti(const std::string& path, std::uint64_t max_bytes, NiftiInfo* info) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) fail(path, "NIfTI file not found");
    NiftiStream stream(path);
    std::string head(540, '\0');  // the larger (NIfTI-2) header
    head.resize(stream.read_some(head.data(), head.size()));
    if (head.size() < 540 && stream.gzip_cut_short()) fail(path, "truncated gzip data (the compressed stream ends early)");
    const NiftiHeader h = parse_nifti_header(head, path);
    const NiftiPlacement placement = nifti_placement(h, path);
    const Geometry& g = placement.geometry;
    const auto n = static_cast<std::uint64_t>(g.voxel_count());
    const std::uint64_t width = static_cast<std::uint64_t>(h.bitpix) / 8;
    check_scan_memory(n, std::max<std::uint64_t>(width, 1),
                      std::to_string(g.size[0]) + "x" + std::to_string(g.size[1]) + "x" + std::to_string(g.size[2]), path);
    if (n > max_bytes / std::max<std::uint64_t>(width, 1)) fail(path, "the image needs more than the memory limit of " + std::to_string(max_bytes) + " bytes");
    VoxelReader reader{stream, {}, h, n * width, path};
    const auto offset = static_cast<std::uint64_t>(h.vox_offset);
    if (offset <= head.size()) {
        reader.early = std::string_view(head).substr(static_cast<std::size_t>(offset));
    } else {
        std::string skip(static_cast<std::size_t>(std::min<std::uint64_t>(offset - head.size(), max_bytes)), '\0');  // extensions
        if (stream.read_some(skip.data(), skip.size()) < offset - head.size()) reader.short_read();
    }
    AnyVolume v = decode_voxels(reader, g, static_cast<std::size_t>(n));
    if (h.scl_slope != 0 && std::isfinite(h.scl_slope) && std::isfinite(h.scl_inter) && (h.scl_slope != 1 || h.scl_inter != 0))
        v = scaled(std::move(v), h.scl_slope, h.scl_inter);
    if (info) *info = {h, placement, stream.gzipped()};
    return v;
}

namespace {

// NIfTI's datatype code of T.
template <class T> constexpr int datatype_of() {
    if constexpr (std::is_same_v<T, std::uint8_t>) return 2;
    else if constexpr (std::is_same_v<T, std::int16_t>) return 4;
    else if constexpr (std::is_same_v<T, std::int32_t>) return 8;
    else if constexpr (std::is_same_v<T, float>) return 16;
    else if constexpr (std::is_same_v<T, double>) return 64;
    else if constexpr (std::is_same_v<T, std::int8_t>) return 256;
    else if constexpr (std::is_same_v<T, std::uint16_t>) return 512;
    else return 768;
}

template <class T> void put(std::string& b, std::size_t offset, T v) { std::memcpy(b.data() + offset, &v, sizeof(T)); }

// The quaternion (b, c, d) and qfac of an orthonormal RAS direction (NIfTI's method 2, improper matrices through
// qfac = -1).
bool quaternion_of(Mat3 r, std::array<double, 3>& q, double& qfac) {
    if (!is_orthonormal(r, 1e-6)) return false;
    qfac = determinant(r) < 0 ? -1.0 : 1.0;
    if (qfac < 0)
        for (std::size_t row = 0; row < 3; ++row) r[3 * row + 2] = -r[3 * row + 2];
    const double trace = r[0] + r[4] + r[8];
    double a, b, c, d;
    if (trace > -0.5) {
        a = 0.5 * std::sqrt(1 + trace);
        b = (r[7] - r[5]) / (4 * a);
        c = (r[2] - r[6]) / (4 * a);
        d = (r[3] - r[1]) / (4 * a);
    } else if (r[0] >= r[4] && r[0] >= r[8]) {
        b = 0.5 * std::sqrt(1 + r[0] - r[4] - r[8]);
        a = (r[7] - r[5]) / (4 * b);
        c = (r[1] + r[3]) / (4 * b);
        d = (r[2] + r[6]) / (4 * b);
    } else if (r[4] >= r[8]) {
        c = 0.5 * std::sqrt(1 - r[0] + r[4] - r[8]);
        a = (r[2] - r[6]) / (4 * c);
        b = (r[1] + r[3]) / (4 * c);
        d = (r[5] + r[7]) / (4 * c);
    } else {
        d = 0.5 * std::sqrt(1 - r[0] - r[4] + r[8]);
        a = (r[3] - r[1]) / (4 * d);
        b = (r[2] + r[6]) / (4 * d);
        c = (r[5] + r[7]) / (4 * d);
    }
    if (a < 0) b = -b, c = -c, d = -d;  // a >= 0, as NIfTI requires
    q = {b, c, d};
    return true;
}

template <class T> std::string header_bytes(const Volume<T>& v, int version) {
    const Geometry& g = v.geometry;
    // LPS to RAS.
    Mat3 ras = g.direction;
    for (std::size_t c = 0; c < 3; ++c) ras[c] = -ras[c], ras[3 + c] = -ras[3 + c];
    const Vec3 origin{-g.origin[0], -g.origin[1], g.origin[2]};
    std::array<double, 3> q{};
    double qfac = 1;
    const bool has_q = quaternion_of(ras, q, qfac);
    const std::size_t size = version == 1 ? 348 : 540, offset = size + 4;
    std::string b(offset, '\0');
    const double pixdim[8] = {qfac, g.spacing[0], g.spacing[1], g.spacing[2], 1, 1, 1, 1};
    const std::int64_t dim[8] = {3, g.size[0], g.size[1], g.size[2], 1, 1, 1, 1};
    double srow[12];
    for (std::size_t r = 0; r < 3; ++r) {
        for (std::size_t c = 0; c < 3; ++c) srow[4 * r + c] = ras[3 * r + c] * g.spacing[c];
        srow[4 * r + 3] = origin[r];
    }
    if (version == 1) {
        put<std::int32_t>(b, 0, 348);
        for (std::size_t i = 0; i < 8; ++i) put<std::int16_t>(b, 40 + 2 * i, static_cast<std::int16_t>(dim[i]));
        put<std::int16_t>(b, 70, static_cast<std::int16_t>(datatype_of<T>()));
        put<std::int16_t>(b, 72, static_cast<std::int16_t>(8 * sizeof(T)));
        for (std::size_t i = 0; i < 8; ++i) put<float>(b, 76 + 4 * i, static_cast<float>(pixdim[i]));
        put<float>(b, 108, static_cast<float>(offset));
        put<float>(b, 112, 1.0f);
        b[123] = 2;  // xyzt_units: millimetres
        put<std::int16_t>(b, 252, has_q ? 1 : 0);
        put<std::int16_t>(b, 254, 1);
        for (std::size_t i = 0; i < 3; ++i) put<float>(b, 256 + 4 * i, static_cast<float>(q[i]));
        for (std::size_t i = 0; i < 3; ++i) put<float>(b, 268 + 4 * i, static_cast<float>(origin[i]));
        for (std::size_t i = 0; i < 12; ++i) put<float>(b, 280 + 4 * i, static_cast<float>(srow[i]));
        std::memcpy(b.data() + 344, "n+1\0", 4);
    } else {
        put<std::int32_t>(b, 0, 540);
        std::memcpy(b.data() + 4, "n+2\0\r\n\032\n", 8);
        put<std::int16_t>(b, 12, static_cast<std::int16_t>(datatype_of<T>()));
        put<std::int16_t>(b, 14, static_cast<std::int16_t>(8 * sizeof(T)));
        for (std::size_t i = 0; i < 8; ++i) put<std::int64_t>(b, 16 + 8 * i, dim[i]);
        for (std::size_t i = 0; i < 8; ++i) put<double>(b, 104 + 8 * i, pixdim[i]);
        put<std::int64_t>(b, 168, static_cast<std::int64_t>(offset));
        put<double>(b, 176, 1.0);
        put<std::int32_t>(b, 344, has_q ? 1 : 0);
        put<std::int32_t>(b, 348, 1);
        for (std::size_t i = 0; i < 3; ++i) put<double>(b, 352 + 8 * i, q[i]);
        for (std::size_t i = 0; i < 3; ++i) put<double>(b, 376 + 8 * i, origin[i]);
        for (std::size_t i = 0; i < 12; ++i) put<double>(b, 400 + 8 * i, srow[i]);
        put<std::int32_t>(b, 500, 2);  // xyzt_units: millimetres
    }
    return b;
}

void write_gzipped(std::FILE* f, const std::string& header, const void* data, std::size_t bytes, const std::string& path) {
    z_stream zs{};
    if (deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) fail(path, "cannot initialise zlib");
    std::vector<unsigned char> out(1 << 16);
    const auto feed = [&](const void* p, std::size_t n, int flush) {
        zs.next_in = static_cast<unsigned char*>(const_cast<void*>(p));
        zs.avail_in = static_cast<uInt>(n);
        do {
            zs.next_out = out.data();
            zs.avail_out = static_cast<uInt>(out.size());
            if (deflate(&zs, flush) == Z_STREAM_ERROR) fail(path, "zlib compression failed");
            write_all(f, out.data(), out.size() - zs.avail_out, path);
        } while (zs.avail_out == 0 || (flush == Z_FINISH && zs.avail_in > 0));
    };
    feed(header.data(), header.size(), Z_NO_FLUSH);
    const auto* p = static_cast<const char*>(data);
    constexpr std::size_t kChunk = std::size_t{1} << 28;
    for (std::size_t done = 0; done < bytes; done += kChunk) feed(p + done, std::min(kChunk, bytes - done), Z_NO_FLUSH);
    feed(nullptr, 0, Z_FINISH);
    deflateEnd(&zs);
}

}  // namespace

template <class T> void write_nifti(const std::string& path, const Volume<T>& v, int version) {
    if (version != 1 && version != 2) throw OptionError("version", "must be 1 or 2, got " + std::to_string(version));
    validate(v.geometry, path.c_str());
    if (version == 1)
        for (auto n : v.geometry.size)
            if (n > 32767) fail(path, "NIfTI-1 holds at most 32767 voxels along an axis; write NIfTI-2");
    const std::string header = header_bytes(v, version);
    const bool gz = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
    write_file_atomically(path, [&](std::FILE* f) {
        if (gz) {
            write_gzipped(f, header, v.voxels.data(), v.voxels.size() * sizeof(T), path);
        } else {
            write_all(f, header.data(), header.size(), path);
            write_all(f, v.voxels.data(), v.voxels.size() * sizeof(T), path);
        }
    });
}

template void write_nifti(const std::string&, const Volume<std::int8_t>&, int);
template void write_nifti(const std::string&, const Volume<std::uint8_t>&, int);
template void write_nifti(const std::string&, const Volume<std::int16_t>&, int);
template void write_nifti(const std::string&, const Volume<std::uint16_t>&, int);
template void write_nifti(const std::string&, const Volume<std::int32_t>&, int);
template void write_nifti(const std::string&, const Volume<std::uint32_t>&, int);
template void write_nifti(const std::string&, const Volume<float>&, int);
template void write_nifti(const std::string&, const Volume<double>&, int);

}  // namespace nodulecad
