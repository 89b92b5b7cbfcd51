// nodulecad slice SCAN.mhd --out x.png: one axial/coronal/sagittal slice as a PNG, world-oriented.
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "nodulecad/core/error.hpp"
#include "nodulecad/io/image_file.hpp"
#include "nodulecad/io/png.hpp"
#include "nodulecad/report/slice_view.hpp"

namespace nodulecad::cli {

namespace {

struct SliceArgs {
    std::string file, out, overlay, series;
    Plane plane = Plane::Axial;
    std::vector<double> world;
    std::vector<double> index;
    std::vector<double> window{-1000, 400};
};

void run_slice(const SliceArgs& a) {
    ImageReadOptions ro;
    ro.series = a.series;
    const Volume<std::int16_t> vol = read_ct(a.file, ro);
    Volume<std::uint8_t> overlay;
    SliceViewOptions o;
    o.plane = a.plane;
    o.window_lo = a.window[0];
    o.window_hi = a.window[1];
    o.world_point = volume_centre(vol.geometry);
    if (!a.index.empty()) o.world_point = index_to_world(vol.geometry, {a.index[0], a.index[1], a.index[2]});
    if (!a.world.empty()) o.world_point = {a.world[0], a.world[1], a.world[2]};
    if (!a.overlay.empty()) {
        overlay = read_image_as<std::uint8_t>(a.overlay);
        if (!same_grid(overlay.geometry, vol.geometry)) throw nodulecad::Error(a.overlay + ": geometry differs from " + a.file);
        o.overlay = &overlay;
    }
    write_png(a.out, render_slice_view(vol, o));
}

}  // namespace

void register_slice(CLI::App& app) {
    auto args = std::make_shared<SliceArgs>();
    CLI::App* cmd = app.add_subcommand(
        "slice",
        "Write one slice of a scan as a PNG in world orientation (axial: patient right on the left, anterior up;\n"
        "coronal/sagittal: superior up), square millimetre pixels, HU window mapped to grey.");
    cmd->add_option("file", args->file, "Scan (.mhd/.mha, .nii/.nii.gz or a DICOM series folder)")->required();
    cmd->add_option("--series", args->series, "DICOM: the SeriesInstanceUID to read when the folder holds several");
    cmd->add_option("--out", args->out, "Output .png")->required();
    add_enum_option(cmd, "--plane", args->plane, kPlaneNames, "axial, coronal or sagittal");
    cmd->add_option("--index", args->index, "Slice through this voxel index I J K (default: the centre)")->expected(3);
    cmd->add_option("--world", args->world, "Slice through this world point X Y Z (mm)")->expected(3);
    cmd->add_option("--window", args->window, "HU window LO HI")->expected(2)->capture_default_str();
    cmd->add_option("--overlay", args->overlay, "uint8 mask with the scan's geometry; non-zero voxels tinted red");
    cmd->callback([args] { run_slice(*args); });
}

}  // namespace nodulecad::cli
