// nodulecad: pulmonary nodule CAD for chest CT, one command with subcommands.
#include <iostream>
#include <new>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"

int main(int argc, char** argv) {
    CLI::App app{
        "nodulecad " NODULECAD_VERSION
        " - find pulmonary nodules in chest CT (LUNA16 / Tianchi MetaImage scans)\n"
        "World coordinates follow ITK: world = origin + D * diag(spacing) * index.",
        "nodulecad"};
    app.set_version_flag("--version", std::string("nodulecad ") + NODULECAD_VERSION);
    app.require_subcommand(1);
    app.fallthrough(false);
    nodulecad::cli::register_info(app);
    nodulecad::cli::register_phantom(app);
    nodulecad::cli::register_synth(app);
    nodulecad::cli::register_slice(app);
    nodulecad::cli::register_segment_lungs(app);
    nodulecad::cli::register_preprocess(app);
    nodulecad::Progress::set_enabled(true);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const nodulecad::Error& e) {
        std::cerr << "nodulecad: error: " << e.what() << "\n";
        return 1;
    } catch (const std::bad_alloc&) {
        std::cerr << "nodulecad: error: out of memory\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "nodulecad: error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
