// nodulecad infer --model WORK/model --data DIR|SCAN --out OUT: a trained bundle on new scans (LibTorch builds only).
#include <cstdio>
#include <iostream>
#include <string>

#include "cli/commands.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/pipeline/infer_scans.hpp"

namespace nodulecad::cli {

namespace {

// "time per scan (N processed): read 0.21 s, lungs 0.70 s, U-Net 10.1 s (network 9.2 s), ..." — the steps the
// bundle has, on stderr, with each network's share of its step.
void print_infer_times(const InferSummary& s) {
    if (s.done == 0) return;
    const InferTimes& t = s.times;
    const double n = s.done;
    std::string line = "time per scan (" + std::to_string(s.done) + " processed):";
    const auto part = [&](const char* name, double seconds, double network = -1, bool first = false) {
        if (seconds <= 0 && !first) return;
        char buf[96];
        if (network >= 0) std::snprintf(buf, sizeof buf, "%s %s %.2f s (network %.2f s)", first ? "" : ",", name, seconds / n, network / n);
        else std::snprintf(buf, sizeof buf, "%s %s %.2f s", first ? "" : ",", name, seconds / n);
        line += buf;
    };
    part("read", t.read, -1, true);
    part("lungs", t.lungs);
    part("U-Net", t.unet, t.unet_network);
    part("its candidates", t.candidates);
    part("3D detector", t.detector3d, t.detector3d_network);
    part("FP reduction", t.fpr, t.fpr_network);
    char buf[64];
    std::snprintf(buf, sizeof buf, "; networks loaded in %.2f s", t.load);
    std::cerr << line << buf << "\n";
}

}  // namespace

void register_infer(CLI::App& app) {
    auto o = std::make_shared<InferOptions>();
    o->threads = default_thread_count();
    CLI::App* cmd = app.add_subcommand(
        "infer",
        "Find nodules in new scans with a trained model bundle (the WORK/model folder `run` and `demo` write): lungs ->\n"
        "U-Net -> candidates -> false-positive reduction, exactly as the pipeline treats its held-out scans. No\n"
        "annotations needed. Writes OUT/candidates.csv (seriesuid,coordX,coordY,coordZ,probability,diameter_mm; world\n"
        "mm), OUT/submission.csv (the five LUNA16 columns) and OUT/scans/<uid>.csv per scan as it finishes, so a re-run\n"
        "skips finished scans. Scans: MetaImage, NIfTI or DICOM series, one file or a cohort folder. A scan that cannot\n"
        "be read is named and skipped; the rest finish, and the exit status is then 1.");
    cmd->add_option("--model", o->model, "Model bundle folder (WORK/model) or its model.json")->required();
    cmd->add_option("--data", o->data, "A scan file or a folder of scans")->required();
    cmd->add_option("--out", o->out, "Output folder")->required();
    cmd->add_option("--device", o->device, "auto, cpu or cuda[:N]")->capture_default_str();
    cmd->add_option("--threads", o->threads, "CPU threads")->capture_default_str()->check(CLI::PositiveNumber);
    auto shard = std::make_shared<std::string>();
    cmd->add_option("--shard", *shard,
                    "K/N: only scans K, K+N, K+2N, ... (uid order, K from 0), e.g. one job of a Slurm array; the last shard to\n"
                    "finish, or a run without --shard, writes the tables. Under torchrun/srun: the rank's shard by default");
    cmd->callback([o, shard] {
        use_threads(o->threads);
        InferOptions opts = *o;
        opts.shard = shard_for(*shard);
        const InferSummary s = infer_scans(opts);
        const std::string who = opts.shard.all() ? "" : "shard " + opts.shard.describe() + ": ";
        print_infer_times(s);
        if (!s.tables) {
            std::cerr << who << s.done << " scans processed, " << s.reused << " finished earlier; the tables wait for the other shards (the last to\n"
                      << "finish writes them, or run infer without --shard)\n";
            if (!s.failures.empty())
                throw Error(std::to_string(s.failures.size()) + " of this shard's " + std::to_string(s.in_shard) + " scans could not be processed (named above)");
            return;
        }
        std::cerr << who << s.done << " scans processed, " << s.reused << " finished earlier; " << s.candidates << " candidates -> " << s.candidates_file << "\n";
        if (!s.failures.empty())
            throw Error(std::to_string(s.failures.size()) + " of " + std::to_string(s.scans) + " scans could not be processed (named above); " +
                        s.submission + " holds the other " + std::to_string(s.scans - static_cast<int>(s.failures.size())));
        std::printf("%s\n", s.submission.c_str());
    });
}

}  // namespace nodulecad::cli
