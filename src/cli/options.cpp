// What every subcommand shares: library option names as flags, the process's compute threads.
#include <map>
#include <memory>

#include "cli/commands.hpp"
#include "nodulecad/core/memory_limit.hpp"
#include "nodulecad/core/progress.hpp"
#ifdef NODULECAD_HAVE_TORCH
#include "nodulecad/model/device.hpp"
#endif

namespace nodulecad::cli {

std::string flag_for_option(const std::string& option) {
    // Where a flag is not the option's name with dashes.
    static const std::map<std::string, std::string> renamed = {
        {"base_filters", "--filters"},       {"max_samples_per_epoch", "--max-samples"}, {"negatives_per_positive", "--negatives"},
        {"blobs_per_scan", "--blobs"},        {"test_subsets", "--val-subsets"},
        {"min_diameter_mm", "--min-diameter"}, {"max_diameter_mm", "--max-diameter"},    {"float_output", "--float"},
    };
    if (const auto it = renamed.find(option); it != renamed.end()) return it->second;
    std::string flag = "--" + option;
    for (char& c : flag)
        if (c == '_') c = '-';
    return flag;
}

void use_threads(int threads) {
#ifdef NODULECAD_HAVE_TORCH
    set_compute_threads(threads);
#else
    (void)threads;
#endif
}

namespace {

// `several` is empty where each option takes one file, else what several --seriesuids files mean.
template <class Files>
void add_reference_options_to(CLI::App* cmd, Files& annotations, Files& excluded, Files& seriesuids, const std::string& several) {
    const std::string tables = several.empty() ? "" : " (several files: read together)";
    cmd->add_option("--annotations", annotations, "Reference nodules: seriesuid,coordX,coordY,coordZ,diameter_mm" + tables)->required();
    cmd->add_option("--excluded", excluded, "Findings that count neither way (annotations_excluded.csv; diameter -1 = 10 mm)" + tables);
    cmd->add_option("--seriesuids", seriesuids, "The scans that count (one uid a line)" + several)->required();
}

}  // namespace

void add_reference_options(CLI::App* cmd, std::string& annotations, std::string& excluded, std::string& seriesuids) {
    add_reference_options_to(cmd, annotations, excluded, seriesuids, "");
}

void add_reference_options(CLI::App* cmd, std::vector<std::string>& annotations, std::vector<std::string>& excluded,
                           std::vector<std::string>& seriesuids, const std::string& several) {
    add_reference_options_to(cmd, annotations, excluded, seriesuids, several);
}

void add_rank_options(CLI::App* cmd, int& timeout_s) {
    cmd->add_option("--dist-timeout", timeout_s,
                    "Started as several ranks (torchrun, srun, or RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT by hand;\n"
                    "docs/distributed.md): seconds a rank waits for one that died or stalled before it exits with an error")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
}

void add_validation_options(CLI::App* cmd, TrainerOptions& run) {
    cmd->add_option("--val-every", run.validate_every, "Validate after every Nth epoch and the last (the others cannot become best.pt)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    cmd->add_option("--val-from", run.validate_from, "Validate only from this epoch on (and after the last)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
}

WorldSpec join_launch() {
    const WorldSpec w = world_from_environment();
    if (w.rank != 0) Progress::set_enabled(false);
    return w;
}

bool runs_as_ranks(const std::string& command) {
    for (const char* c : kRankCommands)
        if (command == c) return true;
    return false;
}

void refuse_ranks(const std::string& command) {
    WorldSpec w;
    try {
        w = world_from_environment(Rendezvous::None);
    } catch (const Error&) {
        return;  // an environment no launcher of ours made: this command runs as one process anyway
    }
    if (!w.distributed()) return;
    std::string list;
    for (const char* c : kRankCommands) list += std::string(list.empty() ? "" : ", ") + c;
    throw Error(command + " runs as one process, but was started as " + w.describe() + ": only " + list +
                " (training as ranks, or a shard of the scans per rank) run as ranks (docs/distributed.md)");
}

void add_memory_limit_options(CLI::App& app) {
    for (const CommandMemory& m : kScanCommands) {
        CLI::App* sub = nullptr;
        try {
            sub = app.get_subcommand(m.command);
        } catch (const CLI::OptionNotFound&) {
            continue;  // not in this build
        }
        if (sub->get_options([](const CLI::Option* o) { return o->check_lname("max-memory-gb"); }).size()) continue;
        auto gb = std::make_shared<double>(0);
        sub->add_option("--max-memory-gb", *gb,
                        "Refuse, before reading it, a scan this command would need more memory than this for (GB, "
                        "estimated from its size; 0 = no limit)")
            ->capture_default_str()
            ->check(CLI::NonNegativeNumber);
        sub->parse_complete_callback([sub, gb, m] {
            ScanMemoryModel model;
            model.command = m.command;
            model.fixed_bytes = m.fixed_gb * 1073741824.0;
            model.bytes_per_voxel = m.bytes_per_voxel;
            if (m.threads_are_scans) model.scans_at_once = sub->get_option("--threads")->as<int>();
            set_memory_limit(static_cast<std::uint64_t>(*gb * 1073741824.0), model);
        });
    }
}

}  // namespace nodulecad::cli
