#pragma once
// Each subcommand registers itself (options + callback) on the top-level app.
#include <CLI/CLI.hpp>

#include "core/error.hpp"

namespace nodulecad::cli {

void register_info(CLI::App& app);
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
void register_bench(CLI::App& app);

}  // namespace nodulecad::cli
