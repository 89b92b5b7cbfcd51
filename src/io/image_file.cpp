#include "nodulecad/io/image_file.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <type_traits>
#include <variant>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/warnings.hpp"
#include "nodulecad/io/dicom.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/io/nifti.hpp"

namespace nodulecad {

namespace fs = std::filesystem;

ImageFormat image_format(const std::string& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) return ImageFormat::Dicom;
    if (is_nifti_path(path)) return ImageFormat::Nifti;
    const std::string ext = fs::path(path).extension().string();
    if (ext == ".mhd" || ext == ".mha") return ImageFormat::MetaImage;
    if (!fs::exists(path, ec)) fail(path, "file not found");
    if (looks_like_dicom(path)) fail(path, "one DICOM image: give the folder holding its series, " + fs::path(path).parent_path().string());
    fail(path, "not a scan this reads (.mhd/.mha MetaImage, .nii/.nii.gz NIfTI, or a folder holding a DICOM series)");
}

ImageFormat output_format(const std::string& path) {
    if (is_nifti_path(path)) return ImageFormat::Nifti;
    const std::string ext = fs::path(path).extension().string();
    if (ext != ".mhd" && ext != ".mha") fail(path, "cannot tell the format to write from the name: end it in .mhd, .mha, .nii.gz or .nii");
    return ImageFormat::MetaImage;
}

AnyVolume read_image(const std::string& path, const ImageReadOptions& o, ImageFileInfo* info) {
    ImageFileInfo in;
    in.format = image_format(path);
    AnyVolume v;
    if (in.format == ImageFormat::MetaImage) {
        ReadOptions ro;
        ro.max_bytes = o.max_bytes;
        v = read_metaimage(path, ro);
    } else if (in.format == ImageFormat::Nifti) {
        NiftiInfo ni;
        v = read_nifti(path, o.max_bytes, &ni);
        in.transform = ni.placement.transform;
        in.warnings = ni.placement.warnings;
    } else {
        DicomReadOptions d;
        d.series = o.series;
        d.max_bytes = o.max_bytes;
        d.threads = o.threads;
        DicomReadInfo di;
        v = read_dicom_series(path, d, &di);
        in.series_uid = di.series_uid;
        in.modality = di.modality;
        in.slices = di.slices;
        in.spacing_source = di.spacing_source;
        in.warnings = di.warnings;
    }
    if (info) *info = in;
    return v;
}

Volume<std::int16_t> read_ct(const std::string& path, const ImageReadOptions& o, ImageFileInfo* info) {
    return std::visit(
        [&](auto&& vol) -> Volume<std::int16_t> {
            using T = typename std::decay_t<decltype(vol)>::value_type;
            if constexpr (std::is_same_v<T, std::int16_t>) {
                return std::move(vol);
            } else {
                Volume<std::int16_t> out(vol.geometry);
                std::size_t non_finite = 0;
                for (std::size_t i = 0; i < vol.voxels.size(); ++i) {
                    double v = static_cast<double>(vol.voxels[i]);
                    if constexpr (std::is_floating_point_v<T>) {
                        if (!std::isfinite(v)) {
                            ++non_finite;
                            v = 0;
                        } else {
                            v = std::round(v);
                        }
                    }
                    out.voxels[i] = static_cast<std::int16_t>(std::clamp(v, -32768.0, 32767.0));
                }
                if (non_finite)
                    warn(path, std::to_string(non_finite) + " of " + std::to_string(vol.voxels.size()) +
                                   " voxels are NaN or infinite: read as 0 HU");
                return out;
            }
        },
        read_image(path, o, info));
}

template <class T> void write_image(const std::string& path, const Volume<T>& volume) {
    if (output_format(path) == ImageFormat::Nifti) write_nifti(path, volume);
    else write_metaimage(path, volume);
}

std::string image_file_name(const std::string& stem, ImageFormat format) {
    if (format == ImageFormat::Dicom) throw OptionError("format", "must be metaimage or nifti for written volumes, got dicom");
    return stem + (format == ImageFormat::Nifti ? ".nii.gz" : ".mhd");
}

void write_any_image(const std::string& path, const AnyVolume& volume, bool compress) {
    const ImageFormat format = output_format(path);
    std::visit(
        [&](const auto& v) {
            if (format == ImageFormat::Nifti) {
                write_nifti(path, v);
                return;
            }
            WriteOptions w;
            w.compress = compress;
            write_metaimage(path, v, w);
        },
        volume);
}

template void write_image(const std::string&, const Volume<std::uint8_t>&);
template void write_image(const std::string&, const Volume<std::int16_t>&);
template void write_image(const std::string&, const Volume<float>&);

}  // namespace nodulecad
