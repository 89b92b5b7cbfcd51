#pragma once
// Scans and other volumes in whichever format they come: MetaImage (.mhd/.mha), NIfTI (.nii/.nii.gz) or a folder
// holding a DICOM series. One entry point for every command that reads a scan; geometry always in ITK's LPS
// convention.
#include <cstdint>
#include <string>
#include <vector>

#include "nodulecad/core/enum_names.hpp"
#include "nodulecad/core/volume.hpp"

namespace nodulecad {

enum class ImageFormat { MetaImage, Nifti, Dicom };
inline constexpr EnumName<ImageFormat> kImageFormatNames[] = {{ImageFormat::MetaImage, "metaimage"}, {ImageFormat::Nifti, "nifti"}, {ImageFormat::Dicom, "dicom"}};

// By name: .mhd/.mha MetaImage, .nii/.nii.gz NIfTI, a folder DICOM. Error for anything else (naming the path).
ImageFormat image_format(const std::string& path);

struct ImageReadOptions {
    std::uint64_t max_bytes = std::uint64_t{16} << 30;
    std::string series;  // DICOM: the SeriesInstanceUID to read when the folder holds several
    int threads = 1;     // DICOM: slices decoded in parallel
};

// What was read, for `info` and warnings.
struct ImageFileInfo {
    ImageFormat format = ImageFormat::MetaImage;
    std::string series_uid, modality;  // DICOM
    std::size_t slices = 0;            // DICOM
    std::string spacing_source;        // DICOM: where the slice spacing came from
    std::string transform;             // NIfTI: sform, qform or none
    std::vector<std::string> warnings;
};

// The volume in its stored type (DICOM: int16 HU; NIfTI with scaling: float).
AnyVolume read_image(const std::string& path, const ImageReadOptions& opts = {}, ImageFileInfo* info = nullptr);

// A CT scan in HU as int16: integer voxels as they are (clamped to int16), floating voxels rounded half away from
// zero and clamped.
Volume<std::int16_t> read_ct(const std::string& path, const ImageReadOptions& opts = {}, ImageFileInfo* info = nullptr);

// A mask or other volume converted to T (static_cast per voxel).
template <class T> Volume<T> read_image_as(const std::string& path, const ImageReadOptions& opts = {}) {
    return convert_volume<T>(read_image(path, opts));
}

// The format a written file gets from its name: .mhd/.mha MetaImage, .nii/.nii.gz NIfTI; Error naming the path else.
ImageFormat output_format(const std::string& path);
// Writes by the name's ending: .mhd/.mha MetaImage, .nii/.nii.gz NIfTI-1. Atomically.
template <class T> void write_image(const std::string& path, const Volume<T>& volume);
// Any stored type, the same way; `compress` writes MetaImage voxels zlib-compressed (.zraw, or inside a .mha) —
// NIfTI is compressed by its name (.nii.gz). Error for a name of no format.
void write_any_image(const std::string& path, const AnyVolume& volume, bool compress = false);

// An output file name for a format: "<stem>.mhd" or "<stem>.nii.gz" (DICOM is not an output format here).
std::string image_file_name(const std::string& stem, ImageFormat format);

}  // namespace nodulecad
