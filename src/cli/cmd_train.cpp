// nodulecad train --data PREP --out RUN: U-Net training (LibTorch builds only).
#include <cmath>
#include <iostream>
#include <string>

#include "cli/commands.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/train/train_unet.hpp"

namespace nodulecad::cli {

void register_train(CLI::App& app) {
    auto o = std::make_shared<TrainOptions>();
    auto threads = std::make_shared<int>(default_thread_count());
    auto resume = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand(
        "train",
        "Train the U-Net on a preprocessing dataset: negative soft Dice (smooth 1), Adam, validation Dice on the held-out\n"
        "patients each epoch. Writes RUN/last.pt (every epoch, with optimizer state), RUN/best.pt (best validation Dice),\n"
        "RUN/metrics.csv and RUN/config.json, all atomically; --resume RUN continues where it stopped.\n"
        "Under torchrun, srun or RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT it trains as several ranks, each taking --batch\n"
        "samples of every step; rank 0 writes RUN (docs/distributed.md).");
    cmd->add_option("--data", o->data_dir, "Dataset folder from nodulecad preprocess");
    cmd->add_option("--out", o->run.run_dir, "Run folder");
    cmd->add_option("--resume", *resume, "Continue this run folder from last.pt (options from its config.json; --epochs may raise the total)");
    cmd->add_option("--epochs", o->run.epochs, "Total epochs")->capture_default_str();
    cmd->add_option("--batch", o->run.batch, "Batch size")->capture_default_str();
    cmd->add_option("--lr", o->run.lr, "Adam learning rate")->capture_default_str();
    add_enum_option(cmd, "--lr-schedule", o->run.lr_schedule, kLrScheduleNames, "constant, or cosine (lr down to lr/100 over the epochs)");
    add_enum_option(cmd, "--keep", o->run.keep, kKeepWeightsNames, "which weights best.pt holds: best-validation (the epoch scoring best on the validation patients) or final (the last epoch)");
    add_validation_options(cmd, o->run);
    cmd->add_option("--device", o->run.device, "auto, cpu or cuda[:N]")->capture_default_str();
    cmd->add_flag("!--fp32", o->run.amp, "On CUDA, run in fp32 instead of bf16 autocast with channels-last (no effect on a CPU)");
    cmd->add_option("--filters", o->unet.base_filters, "Filters at the first level (doubled per level)")->capture_default_str();
    cmd->add_option("--depth", o->unet.depth, "Levels")->capture_default_str();
    cmd->add_flag("--batch-norm", o->unet.batch_norm, "Batch normalisation after each convolution");
    add_enum_option(cmd, "--loss", o->loss, kUNetLossNames,
                    "dice (negative soft Dice over the batch), dice_bce (plus binary cross-entropy), sample_dice_bce\n"
                    "(each nodule crop's soft Dice averaged, so small nodules weigh as much as large ones, plus\n"
                    "binary cross-entropy) or sample_tversky_bce (the same with each crop's Tversky index: missed\n"
                    "nodule pixels weigh 0.7, false positive ones 0.3; docs/model.md)");
    cmd->add_flag("!--no-augment", o->augment, "Switch off augmentation (flips, rotations, shifts, scale, intensity jitter)");
    cmd->add_option("--scale-augment", o->scale_augment, "Largest relative scale change of the augmentation (0.1: 0.9-1.1; 0: none)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 0.49));
    cmd->add_option("--max-samples", o->max_samples_per_epoch, "At most this many training samples per epoch (0 = all)")->capture_default_str();
    cmd->add_option("--crop", o->crop, "Train on CROP x CROP windows (one around a nodule pixel on nodule samples, random\n"
                                       "elsewhere); 0 = whole samples. Validation and predict still see whole slices")->capture_default_str();
    cmd->add_option("--epoch-samples", o->epoch_samples, "Samples per epoch, cycling through reshuffled passes (0 = one pass)")->capture_default_str();
    add_enum_option(cmd, "--sampling", o->sampling, kSamplingNames,
                    "slices (every sample equally often) or nodules (every nodule equally often, whatever its size;\n"
                    "negatives keep their share)");
    cmd->add_flag("--nodule-mining", o->nodule_mining,
                  "With nodules sampling: after each epoch every training sample with nodule pixels is scored (the soft\n"
                  "Dice of a window centred on each of its nodule cuts, the lowest), and the next epoch draws it with\n"
                  "weight 1.25 - score: the nodules segmented worst come up to five times as often (docs/model.md)");
    cmd->add_option("--seed", o->run.seed, "Seed (initial weights, order, augmentation)")->capture_default_str();
    cmd->add_option("--threads", *threads, "CPU threads")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--loader-threads", o->run.loader_threads,
                    "Threads preparing batches ahead of the model (0: 1 on a CPU, up to 8 on CUDA); the batches are the same for any number")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    add_rank_options(cmd, o->run.dist_timeout_s);
    cmd->callback([o, threads, resume, cmd] {
        use_threads(*threads);
        TrainOptions t = *o;
        if (!resume->empty()) {
            t = unet_resume_options(*resume);
            if (cmd->count("--epochs")) t.run.epochs = o->run.epochs;
            if (cmd->count("--data")) t.data_dir = o->data_dir;
            t.run.device = o->run.device;
            t.run.loader_threads = o->run.loader_threads;
        }
        if (t.data_dir.empty() || t.run.run_dir.empty()) throw Error("train needs --data and --out (or --resume RUN)");
        t.run.world = join_launch();
        t.run.dist_timeout_s = o->run.dist_timeout_s;
        for (const auto& m : train_unet(t))
            if (t.run.world.rank == 0)
                std::cerr << "epoch " << m.epoch << ": loss " << m.train_loss << ", train Dice " << m.train_dice << ", "
                      << (std::isnan(m.val_dice) ? std::string("not validated") : "val Dice " + std::to_string(m.val_dice)) << ", "
                      << m.samples_per_second << " samples/s, " << m.seconds << " s\n";
    });
}

}  // namespace nodulecad::cli
