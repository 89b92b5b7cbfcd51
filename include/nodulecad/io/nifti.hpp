#pragma once
// NIfTI-1 and NIfTI-2 volumes in one file (.nii, or gzip-compressed .nii.gz), read and written in ITK's LPS world
// convention (NIfTI's world is RAS: x and y change sign). docs/geometry.md has the rules.
//
// Which transform places the voxels, as ITK chooses it: the sform when its 3x3 part is a rotation times a scaling
// (no shear) and either there is no qform, or sform_code is SCANNER_ANAT (1), or both transforms agree; otherwise
// the qform (rotation from the quaternion, qfac from pixdim[0], offset). Spacing is pixdim[1..3]. With neither code
// set: identity direction at the origin, and a warning. Voxel values are scaled by scl_slope / scl_inter when the
// slope is non-zero and not the identity — to float then, as ITK does.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nodulecad/core/volume.hpp"

namespace nodulecad {

struct NiftiHeader {
    int version = 1;                         // 1 (348-byte header) or 2 (540 bytes)
    bool swapped = false;                    // stored in the other byte order than this machine's
    std::array<std::int64_t, 8> dim{};       // dim[0]: dimensions used
    int datatype = 0, bitpix = 0;
    std::array<double, 8> pixdim{};          // pixdim[0]: qfac
    std::int64_t vox_offset = 0;             // where the voxels start
    double scl_slope = 0, scl_inter = 0;
    int qform_code = 0, sform_code = 0;
    std::array<double, 3> quatern{};         // b, c, d
    std::array<double, 3> qoffset{};
    std::array<double, 12> srow{};           // srow_x, srow_y, srow_z (4 each)
    ElementType element_type = ElementType::UInt8;  // of the stored voxels (int64 / uint64 files: Float64)
    bool wide_integers = false;              // the file stores int64 or uint64 (read as Float64)
};

// The header at the start of `bytes` (which must hold at least the whole header); Error naming `source` for
// anything that is not a readable single-file NIfTI-1/2 volume of one 3D (or 2D) image.
NiftiHeader parse_nifti_header(std::string_view bytes, const std::string& source);

// The voxels' place in ITK's LPS world, by the rule above.
struct NiftiPlacement {
    Geometry geometry;
    std::string transform;               // "sform", "qform" or "none"
    std::vector<std::string> warnings;
};
NiftiPlacement nifti_placement(const NiftiHeader& h, const std::string& source);

struct NiftiInfo {
    NiftiHeader header;
    NiftiPlacement placement;
    bool gzipped = false;
};

// The whole volume; refuses (before allocating) images larger than max_bytes. Error naming the file for a wrong
// vox_offset, truncated data or gzip stream, unsupported datatypes and more than one volume.
AnyVolume read_nifti(const std::string& path, std::uint64_t max_bytes = std::uint64_t{16} << 30, NiftiInfo* info = nullptr);

// Writes `path` atomically (.nii, or .nii.gz compressed): NIfTI-1 (or 2), both qform and sform set to the
// geometry (codes SCANNER_ANAT), millimetres, no scaling.
template <class T> void write_nifti(const std::string& path, const Volume<T>& volume, int version = 1);

// Whether a path names a NIfTI file (.nii or .nii.gz), and its name without that ending.
bool is_nifti_path(const std::string& path);
std::string nifti_stem(const std::string& path);

}  // namespace nodulecad
