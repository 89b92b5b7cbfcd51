// What every subcommand shares: library option names as flags, the process's compute threads.
#include <map>

#include "cli/commands.hpp"
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

}  // namespace nodulecad::cli
