// nodulecad: pulmonary nodule CAD for chest CT, one command with subcommands.
#include <iostream>
#include <new>

#include "cli/commands.hpp"
#include "nodulecad/core/allocator.hpp"
#include "nodulecad/core/error.hpp"
#include "nodulecad/core/interrupt.hpp"
#include "nodulecad/core/progress.hpp"
#include "nodulecad/version.hpp"

int main(int argc, char** argv) {
    // Before any thread or tensor: freed buffers stay for reuse instead of being unmapped (core/allocator.hpp).
    nodulecad::keep_freed_memory_for_reuse();
    CLI::App app{
        "nodulecad " NODULECAD_VERSION_STRING
        " - find pulmonary nodules in chest CT (LUNA16 / Tianchi MetaImage scans)\n"
        "World coordinates follow ITK: world = origin + D * diag(spacing) * index.",
        "nodulecad"};
    app.set_version_flag("--version", std::string("nodulecad ") + nodulecad::version());
    app.require_subcommand(1);
    app.fallthrough(false);
    nodulecad::cli::register_info(app);
    nodulecad::cli::register_convert(app);
    nodulecad::cli::register_phantom(app);
    nodulecad::cli::register_synth(app);
    nodulecad::cli::register_slice(app);
    nodulecad::cli::register_segment_lungs(app);
    nodulecad::cli::register_preprocess(app);
    nodulecad::cli::register_evaluate(app);
    nodulecad::cli::register_evaluate_seg(app);
    nodulecad::cli::register_compare(app);
    nodulecad::cli::register_detect(app);
    nodulecad::cli::register_rle(app);
    nodulecad::cli::register_report(app);
#ifdef NODULECAD_HAVE_TORCH
    nodulecad::cli::register_train(app);
    nodulecad::cli::register_train_fpr(app);
    nodulecad::cli::register_train_3d(app);
    nodulecad::cli::register_run(app);
    nodulecad::cli::register_demo(app);
    nodulecad::cli::register_predict(app);
    nodulecad::cli::register_infer(app);
    nodulecad::cli::register_bench(app);
#else
    for (const char* name : {"demo", "run", "train", "train-fpr", "train-3d", "predict", "infer", "bench"})
        app.add_subcommand(name, "(not in this build: needs LibTorch)")->allow_extras()->callback([name] {
            throw nodulecad::Error(std::string(name) + ": this nodulecad was built without LibTorch (apt-get install libtorch-dev libopenblas0-openmp, then rebuild)");
        });
#endif
    nodulecad::cli::add_memory_limit_options(app);
    nodulecad::Progress::set_enabled(true);
    nodulecad::install_interrupt_handlers();
    for (CLI::App* sub : app.get_subcommands([](CLI::App* a) { return !nodulecad::cli::runs_as_ranks(a->get_name()); })) {
        const std::string name = sub->get_name();
        sub->preparse_callback([name](std::size_t) { nodulecad::cli::refuse_ranks(name); });
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 1;  // --help and --version: 0; every bad argument: 1, like every other error
    } catch (const nodulecad::OptionError& e) {
        std::cerr << "nodulecad: error: " << nodulecad::cli::flag_for_option(e.option()) << " " << e.problem() << "\n";
        return 1;
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
