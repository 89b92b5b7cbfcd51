#pragma once
// Each subcommand registers itself (options + callback) on the top-level app.
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "nodulecad/core/enum_names.hpp"
#include "nodulecad/core/error.hpp"
#include "nodulecad/core/launch.hpp"
#include "nodulecad/evaluate/mark_budget.hpp"
#include "nodulecad/train/trainer_options.hpp"

namespace nodulecad::cli {

// An enum option, parsed here once from the library's name table: `--loss dice_bce` sets UNetLoss::DiceBce.
// --help shows the names as the type (`--detector {unet2d,heatmap3d}=unet2d`); an unknown name is refused with
// "--detector: must be unet2d or heatmap3d, got 'foo'". The validator hands CLI11 the enum's number, which it
// converts to E itself; numbers typed by the user are names like any other, so they are refused.
template <class E, std::size_t N>
CLI::Option* add_enum_option(CLI::App* cmd, const std::string& flag, E& value, const EnumName<E> (&names)[N], const std::string& help) {
    std::string type = "{";
    for (std::size_t i = 0; i < N; ++i) type += (i ? "," : "") + std::string(names[i].name);
    type += "}";
    const auto to_number = [&names](std::string& text) -> std::string {
        const std::optional<E> v = enum_from_name(text, names);
        if (!v) return "must be " + enum_choices(names) + ", got '" + text + "'";
        text = std::to_string(static_cast<long long>(*v));
        return "";
    };
    return cmd->add_option(flag, value, help)
        ->transform(CLI::Validator(to_number, ""))
        ->type_name(type)
        ->default_str(enum_name(value, names));
}

// The flag the user typed for a library option name (OptionError::option): "epochs" -> "--epochs",
// "base_filters" -> "--filters".
std::string flag_for_option(const std::string& option);

// "the first 10 / 30 / 100 marks of a scan hit 22 / 25 / 26 of 29 nodules (9.9 / 28.7 / 86.1 a scan on the mean)";
// "" for none (cmd_evaluate.cpp; `run` and `demo` say it of their candidates before the reduction).
std::string mark_budgets_line(const std::vector<MarkBudgetYield>& yields);

// The processes' compute threads (LibTorch builds; a no-op in others), set once per command.
void use_threads(int threads);

// The reference tables a scoring command reads (evaluate, compare): --annotations and --seriesuids (required),
// --excluded. With vectors (compare), each takes several files: the tables are read together and `several` (e.g.
// "; several files: one group each") says in the help what several --seriesuids files mean.
void add_reference_options(CLI::App* cmd, std::string& annotations, std::string& excluded, std::string& seriesuids);
void add_reference_options(CLI::App* cmd, std::vector<std::string>& annotations, std::vector<std::string>& excluded,
                           std::vector<std::string>& seriesuids, const std::string& several);

// Commands that train as several ranks (docs/distributed.md): --dist-timeout into `timeout_s`, and the help's note
// on the launchers.
void add_rank_options(CLI::App* cmd, int& timeout_s);
// The trainers' validation schedule (train, train-fpr): --val-every and --val-from into `run`.
void add_validation_options(CLI::App* cmd, TrainerOptions& run);
// This process's place among the ranks a launcher started (RANK/WORLD_SIZE, torchrun, Slurm), for a command that
// trains; ranks other than 0 show no progress (rank 0 speaks for all).
WorldSpec join_launch();
// The commands that run as several ranks: the trainers (one job, data-parallel) and the per-scan stages (a shard of
// the scans each, --shard K/N or the launcher's rank). Each other command refuses under a launcher (refuse_ranks).
inline constexpr const char* kRankCommands[] = {"train", "train-fpr", "train-3d", "synth", "preprocess", "predict", "infer", "detect"};
bool runs_as_ranks(const std::string& command);
// For every other command: started as one of several ranks, it refuses with one line instead of doing the same
// work in every rank (docs/distributed.md).
void refuse_ranks(const std::string& command);

// What each command that reads scans needs for one scan, for --max-memory-gb (core/memory_limit.hpp): fixed GB plus
// bytes a voxel. Measured with /usr/bin/time on a 512x512x520 and a 128x128x97 scan (2026-12-02, docs/reliability.md),
// except where bytes_per_voxel is 0: the scan's stored voxels only, a lower bound. `threads_are_scans`: its --threads
// scans are held at once.
struct CommandMemory {
    const char* command;
    double fixed_gb;
    double bytes_per_voxel;
    bool threads_are_scans = false;
};
inline constexpr CommandMemory kScanCommands[] = {
    {"info", 0.17, 0},          {"convert", 0.17, 0},        {"slice", 0.17, 0},    {"evaluate-seg", 0.17, 0},
    {"report", 0.17, 0},        {"segment-lungs", 0.17, 5.1}, {"preprocess", 0.17, 5.1, true},
    {"predict", 0.34, 4.4},     {"detect", 1.0, 11.2},       {"infer", 1.0, 8.7},   {"train-3d", 1.0, 11.2},
    {"run", 1.0, 11.2},         {"demo", 1.0, 11.2},
};
// Adds --max-memory-gb to each of those commands (that this build has) and applies it before the command runs.
void add_memory_limit_options(CLI::App& app);

void register_info(CLI::App& app);
void register_convert(CLI::App& app);
void register_phantom(CLI::App& app);
void register_synth(CLI::App& app);
void register_slice(CLI::App& app);
void register_segment_lungs(CLI::App& app);
void register_preprocess(CLI::App& app);
void register_evaluate(CLI::App& app);
void register_evaluate_seg(CLI::App& app);
void register_compare(CLI::App& app);
void register_report(CLI::App& app);
void register_detect(CLI::App& app);
void register_rle(CLI::App& app);
// LibTorch builds: the real commands; other builds: stand-ins that say how to get them.
void register_train(CLI::App& app);
void register_train_fpr(CLI::App& app);
void register_train_3d(CLI::App& app);
void register_run(CLI::App& app);
void register_demo(CLI::App& app);
void register_predict(CLI::App& app);
void register_infer(CLI::App& app);
void register_bench(CLI::App& app);

}  // namespace nodulecad::cli
