#pragma once
// Each subcommand registers itself (options + callback) on the top-level app.
#include <CLI/CLI.hpp>

#include <string>

#include "nodulecad/core/enum_names.hpp"
#include "nodulecad/core/error.hpp"

namespace nodulecad::cli {

// An enum option, parsed here once from the library's name table: `--loss dice_bce` sets UNetLoss::DiceBce.
template <class E, std::size_t N>
CLI::Option* add_enum_option(CLI::App* cmd, const std::string& flag, E& value, const EnumName<E> (&names)[N], const std::string& help) {
    return cmd->add_option(flag, value, help)->transform(CLI::CheckedTransformer(enum_map(names)))->default_str(enum_name(value, names));
}

// The flag the user typed for a library option name (OptionError::option): "epochs" -> "--epochs",
// "base_filters" -> "--filters".
std::string flag_for_option(const std::string& option);

// The processes' compute threads (LibTorch builds; a no-op in others), set once per command.
void use_threads(int threads);

void register_info(CLI::App& app);
void register_convert(CLI::App& app);
void register_phantom(CLI::App& app);
void register_synth(CLI::App& app);
void register_slice(CLI::App& app);
void register_segment_lungs(CLI::App& app);
void register_preprocess(CLI::App& app);
void register_evaluate(CLI::App& app);
void register_evaluate_seg(CLI::App& app);
void register_report(CLI::App& app);
void register_detect(CLI::App& app);
void register_rle(CLI::App& app);
// LibTorch builds: the real commands; other builds: stand-ins that say how to get them.
void register_train(CLI::App& app);
void register_train_fpr(CLI::App& app);
void register_run(CLI::App& app);
void register_demo(CLI::App& app);
void register_predict(CLI::App& app);
void register_infer(CLI::App& app);
void register_bench(CLI::App& app);

}  // namespace nodulecad::cli
