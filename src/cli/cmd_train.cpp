// nodulecad train --data PREP --out RUN: U-Net training (LibTorch builds only).
#include <iostream>

#include "cli/commands.hpp"
#include "core/threads.hpp"
#include "train/train.hpp"

namespace nodulecad::cli {

void register_train(CLI::App& app) {
    auto o = std::make_shared<TrainOptions>();
    o->threads = default_thread_count();
    auto resume = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand(
        "train",
        "Train the U-Net on a preprocessing dataset: negative soft Dice (smooth 1), Adam, validation Dice on the held-out\n"
        "patients each epoch. Writes RUN/last.pt (every epoch, with optimizer state), RUN/best.pt (best validation Dice),\n"
        "RUN/metrics.csv and RUN/config.json, all atomically; --resume RUN continues where it stopped.");
    cmd->add_option("--data", o->data_dir, "Dataset folder from nodulecad preprocess");
    cmd->add_option("--out", o->run_dir, "Run folder");
    cmd->add_option("--resume", *resume, "Continue this run folder from last.pt (same --data)");
    cmd->add_option("--epochs", o->epochs, "Total epochs")->capture_default_str();
    cmd->add_option("--batch", o->batch, "Batch size")->capture_default_str();
    cmd->add_option("--lr", o->lr, "Adam learning rate")->capture_default_str();
    cmd->add_option("--lr-schedule", o->lr_schedule, "constant, or cosine (lr down to lr/100 over the epochs)")->capture_default_str()->check(CLI::IsMember({"constant", "cosine"}));
    cmd->add_option("--device", o->device, "auto, cpu or cuda[:N]")->capture_default_str();
    cmd->add_flag("!--fp32", o->amp, "On CUDA, run in fp32 instead of bf16 autocast with channels-last (no effect on a CPU)");
    cmd->add_option("--filters", o->unet.base_filters, "Filters at the first level (doubled per level)")->capture_default_str();
    cmd->add_option("--depth", o->unet.depth, "Levels")->capture_default_str();
    cmd->add_flag("--batch-norm", o->unet.batch_norm, "Batch normalisation after each convolution");
    cmd->add_option("--loss", o->loss, "dice or dice_bce")->capture_default_str()->check(CLI::IsMember({"dice", "dice_bce"}));
    cmd->add_flag("!--no-augment", o->augment, "Switch off augmentation (flips, rotations, shifts, scale, intensity jitter)");
    cmd->add_option("--scale-augment", o->scale_augment, "Largest relative scale change of the augmentation (0.1: 0.9-1.1; 0: none)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 0.49));
    cmd->add_option("--max-samples", o->max_samples_per_epoch, "At most this many training samples per epoch (0 = all)")->capture_default_str();
    cmd->add_option("--crop", o->crop, "Train on CROP x CROP windows (one around a nodule pixel on nodule samples, random\n"
                                       "elsewhere); 0 = whole samples. Validation and predict still see whole slices")->capture_default_str();
    cmd->add_option("--epoch-samples", o->epoch_samples, "Samples per epoch, cycling through reshuffled passes (0 = one pass)")->capture_default_str();
    cmd->add_option("--sampling", o->sampling, "slices (every sample equally often) or nodules (every nodule equally often,\n"
                                               "whatever its size; negatives keep their share)")->capture_default_str()->check(CLI::IsMember({"slices", "nodules"}));
    cmd->add_option("--seed", o->seed, "Seed (initial weights, order, augmentation)")->capture_default_str();
    cmd->add_option("--threads", o->threads, "CPU threads")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--loader-threads", o->loader_threads,
                    "Threads preparing batches ahead of the model (0: 1 on a CPU, up to 8 on CUDA); the batches are the same for any number")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    cmd->callback([o, resume] {
        TrainOptions t = *o;
        if (!resume->empty()) {
            t.resume = true;
            t.run_dir = *resume;
        }
        if (t.data_dir.empty() || t.run_dir.empty()) throw nodulecad::Error("train needs --data and --out (or --resume RUN)");
        for (const auto& m : train_unet(t))
            std::cerr << "epoch " << m.epoch << ": loss " << m.train_loss << ", train Dice " << m.train_dice << ", val Dice " << m.val_dice
                      << ", " << m.images_per_second << " images/s, " << m.seconds << " s\n";
    });
}

}  // namespace nodulecad::cli
