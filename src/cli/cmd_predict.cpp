// nodulecad predict --model RUN/best.pt --data DIR|SCAN --out PRED (LibTorch builds only).
#include <iostream>
#include <map>

#include "cli/commands.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/infer/predict.hpp"
#include "nodulecad/io/cohort_layout.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/io/probability_map.hpp"
#include "nodulecad/report/overlays.hpp"

namespace nodulecad::cli {

namespace {
void write_overlays(const PredictSummary& s, const std::string& data, const std::string& out_dir) {
    std::map<std::string, ScanFile> scan_of;
    for (const ScanFile& f : find_scans(data)) scan_of[f.uid] = f;
    std::size_t pictures = 0;
    for (std::size_t n = 0; n < s.outputs.size(); ++n) {
        const Volume<std::int16_t> scan = read_scan(scan_of.at(s.uids[n]));
        pictures += write_mark_overlays(scan, threshold_probability(read_image(s.outputs[n]), 0.5), out_dir, s.uids[n]).size();
    }
    std::cerr << "overlays: " << pictures << " pictures -> " << out_dir << "\n";
}
}  // namespace

void register_predict(CLI::App& app) {
    auto o = std::make_shared<PredictOptions>();
    auto overlays = std::make_shared<bool>(false);
    o->threads = default_thread_count();
    CLI::App* cmd = app.add_subcommand(
        "predict",
        "Run a trained U-Net over every slice of every scan, with the training preprocessing, and write\n"
        "PRED/<uid>_prob.mhd (or .nii.gz): nodule probability on the scan's own geometry (uint8 0-255, or float with --float).\n"
        "Scans: MetaImage, NIfTI or DICOM series (a folder; cohorts as LUNA16 lays them out).");
    cmd->add_option("--model", o->model, "Checkpoint (RUN/best.pt)")->required();
    cmd->add_option("--data", o->data, "A scan (.mhd/.mha) or a cohort folder")->required();
    cmd->add_option("--out", o->out_dir, "Output folder")->required();
    cmd->add_option("--device", o->device, "auto, cpu or cuda[:N]")->capture_default_str();
    cmd->add_flag("!--fp32", o->amp, "On CUDA, run in fp32 instead of bf16 autocast with channels-last (no effect on a CPU)");
    cmd->add_option("--batch", o->batch, "Slices per forward pass (0: 1 on a CPU, where it is fastest; 16 on CUDA)")->capture_default_str()->check(CLI::NonNegativeNumber);
    cmd->add_flag("--float", o->float_output, "Write float probabilities instead of uint8");
    add_enum_option(cmd, "--format", o->format, kImageFormatNames, "metaimage (<uid>_prob.mhd) or nifti (<uid>_prob.nii.gz)");
    cmd->add_flag("--overlays", *overlays, "Also write PRED/<uid>_slice<k>.png: the slices where the model marks nodules (p >= 0.5),\n"
                                           "the scan in the lung window with the marks in red");
    cmd->add_flag("!--full-grid", o->lungs_only, "Run every slice on the training grid instead of a grid fitted to the lungs\n"
                                                 "(+10 mm) on the slices within 2 of a lung voxel (others get 0)");
    cmd->add_option("--threads", o->threads, "CPU threads")->capture_default_str()->check(CLI::PositiveNumber);
    auto shard = std::make_shared<std::string>();
    cmd->add_option("--shard", *shard,
                    "K/N: only scans K, K+N, K+2N, ... (uid order, K from 0) — one of N jobs writing into one PRED; under\n"
                    "torchrun/srun: the rank's shard by default");
    cmd->callback([o, overlays, shard] {
        use_threads(o->threads);
        PredictOptions opts = *o;
        opts.shard = shard_for(*shard);
        const PredictSummary s = predict_scans(opts);
        std::cerr << (opts.shard.all() ? "" : "shard " + opts.shard.describe() + ": ") << "predicted " << s.slices << " slices of " << s.scans
                  << " scans -> " << o->out_dir << "\n";
        if (*overlays) write_overlays(s, o->data, o->out_dir);
    });
}

}  // namespace nodulecad::cli
