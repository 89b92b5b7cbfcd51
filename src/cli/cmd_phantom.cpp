// nodulecad phantom --out FILE.mhd: a small chest-like test scan with one nodule at a known world position.
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "nodulecad/core/error.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/io/tables.hpp"
#include "nodulecad/synth/phantom.hpp"

namespace nodulecad::cli {

namespace {

struct PhantomArgs {
    std::string out;
    std::vector<std::int64_t> size{96, 96, 48};
    std::vector<double> spacing{0.8, 0.8, 2.5};
    std::vector<double> origin{-38.0, -38.0, -60.0};
    std::vector<double> direction{1, 0, 0, 0, 1, 0, 0, 0, 1};
    bool flip = false;
    bool compress = false;
    double diameter = 10.0;
    std::string annotations;
};

void run_phantom(const PhantomArgs& a) {
    PhantomSpec spec;
    for (int i = 0; i < 3; ++i) {
        spec.geometry.size[i] = a.size[i];
        spec.geometry.spacing[i] = a.spacing[i];
        spec.geometry.origin[i] = a.origin[i];
    }
    for (int i = 0; i < 9; ++i) spec.geometry.direction[i] = a.direction[i];
    if (a.flip) {
        // LUNA16's flipped scans: D = diag(-1, -1, 1); keep the same world field of view by moving the origin.
        Geometry& g = spec.geometry;
        const Vec3 far = IndexWorldTransform(g).to_world(
            {static_cast<double>(g.size[0] - 1), static_cast<double>(g.size[1] - 1), 0.0});
        g.origin = {far[0], far[1], g.origin[2]};
        g.direction = multiply(Mat3{-1, 0, 0, 0, -1, 0, 0, 0, 1}, g.direction);
    }
    if (!(a.diameter > 0)) throw nodulecad::Error("--diameter must be positive");
    spec.nodule_diameter_mm = a.diameter;
    const Phantom p = make_phantom(spec);
    const std::filesystem::path parent = std::filesystem::path(a.out).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) throw nodulecad::Error(a.out + ": cannot create output folder: " + ec.message());
    WriteOptions w;
    w.compress = a.compress;
    write_metaimage(a.out, p.scan, w);
    if (!a.annotations.empty())
        write_annotations(a.annotations, {{"phantom", p.nodule_world, p.nodule_diameter_mm}});
    std::cerr << "wrote " << a.out << ": nodule of " << p.nodule_diameter_mm << " mm at world (" << p.nodule_world[0]
              << ", " << p.nodule_world[1] << ", " << p.nodule_world[2] << ") mm\n";
}

}  // namespace

void register_phantom(CLI::App& app) {
    auto args = std::make_shared<PhantomArgs>();
    CLI::App* cmd = app.add_subcommand(
        "phantom",
        "Write a small chest-like phantom scan (air, body, two lungs, one solid nodule) in HU as MetaImage.\n"
        "For trying the tools and checking geometry; realistic cohorts come from the synthetic generator.");
    cmd->add_option("--out", args->out, "Output .mhd (with .raw/.zraw beside it) or .mha")->required();
    cmd->add_option("--size", args->size, "Voxels along i j k")->expected(3)->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--spacing", args->spacing, "Voxel spacing in mm along i j k")->expected(3)->capture_default_str();
    cmd->add_option("--origin", args->origin, "World mm of voxel (0,0,0)")->expected(3)->capture_default_str();
    cmd->add_option("--direction", args->direction, "Direction matrix D, 9 numbers row-major (columns = index axes)")
        ->expected(9);
    cmd->add_flag("--flip", args->flip, "Flip x and y like LUNA16's TransformMatrix -1 0 0 0 -1 0 0 0 1 (same world FOV)");
    cmd->add_flag("--compress", args->compress, "zlib-compress the voxel data (.zraw)");
    cmd->add_option("--diameter", args->diameter, "Nodule diameter in mm")->capture_default_str();
    cmd->add_option("--annotations", args->annotations, "Also write the nodule as a LUNA16 annotations.csv row");
    cmd->callback([args] { run_phantom(*args); });
}

}  // namespace nodulecad::cli
