#pragma once
// Each subcommand registers itself (options + callback) on the top-level app.
#include <CLI/CLI.hpp>

namespace nodulecad::cli {

void register_info(CLI::App& app);
void register_phantom(CLI::App& app);
void register_synth(CLI::App& app);
void register_slice(CLI::App& app);
void register_segment_lungs(CLI::App& app);
void register_preprocess(CLI::App& app);

}  // namespace nodulecad::cli
