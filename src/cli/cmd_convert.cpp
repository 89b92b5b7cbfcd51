// nodulecad convert IN OUT: a scan or mask from any format this reads to MetaImage or NIfTI, voxels and world kept.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "nodulecad/core/error.hpp"
#include "nodulecad/core/element_type.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/io/image_file.hpp"

namespace nodulecad::cli {

namespace {

struct ConvertArgs {
    std::string in, out, series;
    bool compress = false;
};

void run_convert(const ConvertArgs& a) {
    (void)output_format(a.out);  // a bad name is an error before a long read
    ImageReadOptions opts;
    opts.series = a.series;
    opts.threads = default_thread_count();
    ImageFileInfo info;
    const AnyVolume volume = read_image(a.in, opts, &info);
    for (const auto& w : info.warnings) std::cerr << "nodulecad: warning: " << a.in << ": " << w << "\n";
    const std::filesystem::path parent = std::filesystem::path(a.out).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    write_any_image(a.out, volume, a.compress);
    const Geometry& g = geometry_of(volume);
    std::cerr << "wrote " << a.out << " (" << g.size[0] << "x" << g.size[1] << "x" << g.size[2] << ", "
              << metaimage_name(element_type_of_volume(volume)) << ")\n";
}

}  // namespace

void register_convert(CLI::App& app) {
    auto args = std::make_shared<ConvertArgs>();
    CLI::App* cmd = app.add_subcommand(
        "convert",
        "Convert a scan or mask between formats: IN is MetaImage (.mhd/.mha), NIfTI (.nii/.nii.gz) or a DICOM series\n"
        "folder; OUT's name chooses the format (.mhd, .mha, .nii, .nii.gz). Voxels keep their stored type (DICOM: int16\n"
        "HU after each slice's rescale) and so does the world placement (to float32 precision in NIfTI-1).");
    cmd->add_option("in", args->in, "The image to read")->required();
    cmd->add_option("out", args->out, "The image to write (written to a temporary file, then renamed)")->required();
    cmd->add_option("--series", args->series, "DICOM: the SeriesInstanceUID to read when the folder holds several");
    cmd->add_flag("--compress", args->compress, "MetaImage: zlib-compress the voxels (NIfTI: name it .nii.gz)");
    cmd->callback([args] { run_convert(*args); });
}

}  // namespace nodulecad::cli
