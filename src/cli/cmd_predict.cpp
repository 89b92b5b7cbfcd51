// nodulecad predict --model RUN/best.pt --data DIR|SCAN --out PRED (LibTorch builds only).
#include <iostream>

#include "cli/commands.hpp"
#include "core/threads.hpp"
#include "infer/predict.hpp"

namespace nodulecad::cli {

void register_predict(CLI::App& app) {
    auto o = std::make_shared<PredictOptions>();
    o->threads = default_thread_count();
    CLI::App* cmd = app.add_subcommand(
        "predict",
        "Run a trained U-Net over every slice of every scan, with the training preprocessing, and write\n"
        "PRED/<uid>_prob.mhd: nodule probability on the scan's own geometry (uint8 0-255, or float with --float).");
    cmd->add_option("--model", o->model, "Checkpoint (RUN/best.pt)")->required();
    cmd->add_option("--data", o->data, "A scan (.mhd/.mha) or a cohort folder")->required();
    cmd->add_option("--out", o->out_dir, "Output folder")->required();
    cmd->add_option("--device", o->device, "auto, cpu or cuda[:N]")->capture_default_str();
    cmd->add_flag("!--fp32", o->amp, "On CUDA, run in fp32 instead of bf16 autocast with channels-last (no effect on a CPU)");
    cmd->add_option("--batch", o->batch, "Slices per forward pass (0: 1 on a CPU, where it is fastest; 16 on CUDA)")->capture_default_str()->check(CLI::NonNegativeNumber);
    cmd->add_flag("--float", o->float_output, "Write float probabilities instead of uint8");
    cmd->add_flag("--overlays", o->overlays, "Also write PNGs of the slices where the model marks nodules");
    cmd->add_flag("!--full-grid", o->lungs_only, "Run every slice on the training grid instead of a grid fitted to the lungs\n"
                                                 "(+10 mm) on the slices within 2 of a lung voxel (others get 0)");
    cmd->add_option("--threads", o->threads, "CPU threads")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->callback([o] {
        const PredictSummary s = predict_scans(*o);
        std::cerr << "predicted " << s.slices << " slices of " << s.scans << " scans -> " << o->out_dir << "\n";
    });
}

}  // namespace nodulecad::cli
