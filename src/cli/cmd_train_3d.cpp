// nodulecad train-3d --data COHORT --out RUN: the 3D detector on a cohort's lung boxes (LibTorch builds only).
#include <cmath>
#include <iostream>

#include "cli/commands.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/pipeline/recipes.hpp"
#include "nodulecad/train/train_detector3d.hpp"

namespace nodulecad::cli {

void register_train_3d(CLI::App& app) {
    // run's defaults (a 2 mm grid, 8 filters over 4 levels, 32-voxel patches, 20 epochs of 384 patches), so that
    // what trains here as ranks is what `run --detector heatmap3d` trains in one process.
    const PipelineOptions defaults = cpu_pipeline_defaults();
    auto set = std::make_shared<Detector3dDatasetOptions>();
    set->grid = defaults.grid3d;
    set->val_fraction = defaults.prep.val_fraction;
    auto o = std::make_shared<Detector3dTrainOptions>(defaults.det3d);
    auto threads = std::make_shared<int>(default_thread_count());
    auto resume = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand(
        "train-3d",
        "Train the 3D detector (docs/model.md) on a cohort: each training scan's lungs, their box resampled to a\n"
        "millimetre grid (written to RUN/grid3d, reused when built before with the same options), cubic patches around\n"
        "nodules, at random and on the last epoch's false peaks (hard negatives); focal centre-heatmap + size loss (or\n"
        "the segmentation head's); validation loss on the held-out patients' patches each epoch. Writes RUN/last.pt,\n"
        "best.pt, metrics.csv, config.json atomically; --resume RUN continues. Defaults are run's (--detector heatmap3d).\n"
        "detect --detector3d RUN/best.pt --data COHORT finds candidates with it.\n"
        "Under torchrun, srun or RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT it trains as several ranks, each taking --batch\n"
        "patches of every step; rank 0 builds RUN/grid3d while the others wait, and writes RUN (docs/distributed.md).");
    cmd->add_option("--data", set->data_dir, "Cohort folder (subset*/<uid>.mhd, annotations.csv)");
    cmd->add_option("--out", o->run.run_dir, "Run folder");
    cmd->add_option("--resume", *resume, "Continue this run folder from last.pt (options from its config.json; --epochs may raise the total)");
    cmd->add_option("--annotations", set->annotations, "Nodule table (default DATA/annotations.csv)");
    cmd->add_option("--val-fraction", set->val_fraction, "Share of patients held out for validation")->capture_default_str();
    cmd->add_option("--val-subsets", set->val_subsets, "These LUNA16 subsets are the validation patients instead");
    cmd->add_option("--grid-mm", set->grid.spacing_mm, "Voxel side of the millimetre grid")->capture_default_str();
    add_enum_option(cmd, "--grid-sampling", set->grid.sampling, kGridSamplingNames,
                    "A grid voxel is the scan at its centre (centre) or the scan's mean over its cell\n"
                    "(cell-mean: thin- and thick-slice scans alike reach the grid at its resolution)");
    cmd->add_option("--patch", o->patch, "Patch side in voxels (a multiple of 2^(depth-1))")->capture_default_str();
    cmd->add_option("--epoch-samples", o->epoch_samples, "Patches per epoch")->capture_default_str();
    cmd->add_option("--nodule-fraction", o->nodule_fraction, "Share of patches holding a training nodule")->capture_default_str();
    cmd->add_option("--hard-fraction", o->hard_fraction, "Share of patches centred on the last epoch's false peaks")->capture_default_str();
    cmd->add_option("--hard-mining-patches", o->hard_mining_patches, "Random training patches searched for false peaks after each epoch")
        ->capture_default_str()
        ->check(CLI::Range(0, 100000));
    cmd->add_flag("--nodule-mining", o->nodule_mining,
                  "Nodule patches favour the training nodules the network scored lowest at the end of the last epoch\n"
                  "(each nodule's heatmap peak on a patch centred on it; weight 1.25 - peak)");
    cmd->add_option("--epochs", o->run.epochs, "Total epochs")->capture_default_str();
    cmd->add_option("--batch", o->run.batch, "Batch size")->capture_default_str();
    cmd->add_option("--lr", o->run.lr, "Adam learning rate")->capture_default_str();
    add_enum_option(cmd, "--lr-schedule", o->run.lr_schedule, kLrScheduleNames, "constant, or cosine (lr down to lr/100 over the epochs)");
    add_enum_option(cmd, "--keep", o->run.keep, kKeepWeightsNames,
                    "which weights best.pt holds: final (the last epoch's) or best-validation (the lowest validation loss)");
    cmd->add_option("--filters", o->net.base_filters, "Filters at the first level (doubled per level)")->capture_default_str();
    cmd->add_option("--depth", o->net.depth, "Levels")->capture_default_str();
    cmd->add_flag("!--no-batch-norm", o->net.batch_norm, "No batch normalisation after the convolutions");
    add_enum_option(cmd, "--input-windows", o->net.input, kDetector3dInputNames,
                    "What the network sees: lung (the grid's window, -1000..400 HU), lung+glass (also its lower\n"
                    "half, -1000..-300 HU, stretched: ground glass at twice the contrast) or lung+mask (also the lung\n"
                    "mask on the grid, which the dataset then stores: the lungs' outline apart from the chest wall)");
    add_enum_option(cmd, "--head", o->head, kDetector3dHeadNames,
                    "What the network learns: heatmap (nodule centres; candidates are its peaks) or segmentation\n"
                    "(each nodule's ball; candidates are its components)");
    cmd->add_flag("!--no-augment", o->augment, "Switch off augmentation (flips along each axis, in-plane transpose, and the two below)");
    cmd->add_option("--scale-augment", o->scale_augment,
                    "Zoom each training patch about its centre by a factor drawn log-uniformly in [1/(1+S), 1+S]\n"
                    "(trilinear; the nodules' targets and sizes follow; 0: off)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--contrast-augment", o->contrast_augment, "Scale each training patch's window about air by a gain drawn in [1-G, 1+G] (0: off)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 0.5));
    cmd->add_option("--device", o->run.device, "auto, cpu or cuda[:N]")->capture_default_str();
    cmd->add_flag("!--fp32", o->run.amp, "On CUDA, run in fp32 instead of bf16 autocast (no effect on a CPU)");
    cmd->add_option("--seed", o->run.seed, "Seed (split, weights, patches, augmentation)")->capture_default_str();
    cmd->add_option("--threads", *threads, "CPU threads")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--loader-threads", o->run.loader_threads, "Threads preparing batches (0: 1 on a CPU, up to 8 on CUDA)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    add_rank_options(cmd, o->run.dist_timeout_s);
    cmd->callback([set, o, threads, resume, cmd] {
        use_threads(*threads);
        Detector3dTrainOptions t = *o;
        Detector3dDatasetOptions d = *set;
        if (!resume->empty()) {
            t = detector3d_resume_options(*resume);
            if (cmd->count("--epochs")) t.run.epochs = o->run.epochs;
            t.run.device = o->run.device;
            t.run.loader_threads = o->run.loader_threads;
        } else {
            if (d.data_dir.empty() || t.run.run_dir.empty()) throw Error("train-3d needs --data and --out (or --resume RUN)");
            if (d.annotations.empty()) d.annotations = d.data_dir + "/annotations.csv";
        }
        d.threads = *threads;
        t.run.world = join_launch();
        t.run.dist_timeout_s = o->run.dist_timeout_s;
        const Detector3dCohortResult r = train_detector3d_on_cohort(d, t);
        if (t.run.world.rank != 0) return;  // rank 0 speaks for all
        std::size_t val = 0, nodules = 0;
        for (const auto& s : r.set.scans) {
            val += s.validation ? 1 : 0;
            nodules += s.validation ? 0 : s.nodules.size();
        }
        std::cerr << "train-3d: " << r.set.scans.size() << " lung boxes at " << r.set.grid.spacing_mm << " mm (" << val << " validation patients, "
                  << nodules << " training nodules" << (r.reused ? "; RUN/grid3d reused" : "") << ")\n";
        for (const auto& e : r.epochs)
            std::cerr << "epoch " << e.epoch << ": loss " << e.train_loss << ", "
                      << (std::isnan(e.val_loss) ? std::string("no validation loss") : "validation loss " + std::to_string(e.val_loss)) << ", "
                      << e.hard_negatives << " hard negatives, " << std::lround(e.samples_per_second) << " patches/s\n";
    });
}

}  // namespace nodulecad::cli
