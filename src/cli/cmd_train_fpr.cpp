// nodulecad train-fpr --data COHORT --candidates CANDS --out FPR: the false-positive-reduction network (LibTorch).
#include <cmath>
#include <iostream>

#include "cli/commands.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/preprocess/fpr_patches.hpp"  // kCubeSymmetries
#include "nodulecad/train/train_fpr.hpp"

namespace nodulecad::cli {

void register_train_fpr(CLI::App& app) {
    auto o = std::make_shared<FprTrainOptions>();
    auto threads = std::make_shared<int>(default_thread_count());
    auto resume = std::make_shared<std::string>();
    auto no_centres = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand(
        "train-fpr",
        "Train the false-positive-reduction network on candidates from detect (run on the training scans):\n"
        "a candidate within a nodule's radius is positive, within an excluded finding's radius left out, otherwise\n"
        "negative; annotated nodule centres are added as positives. Cubes cut along the world axes; the network sees\n"
        "2.5D views of them (--arch 2.5d: axial, coronal, sagittal, 3 planes each) or the cube itself at two scales\n"
        "(--arch 3d); class-balanced epochs; flips, quarter turns and shifts; patient split.\n"
        "Each validated epoch (--val-every, --val-from): ROC AUC, precision, recall, F1 and the candidate FROC (CPM)\n"
        "before and after.\n"
        "Writes FPR/patches.npy|csv|json, last.pt, best.pt (best validation AUC), metrics.csv, config.json.\n"
        "Under torchrun, srun or RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT it trains as several ranks, each taking --batch\n"
        "samples of every step; rank 0 cuts the patches and writes FPR (docs/distributed.md).");
    cmd->add_option("--data", o->set.data_dir, "Cohort folder (subset*/<uid>.mhd, annotations.csv)");
    cmd->add_option("--candidates", o->set.candidates, "Candidates CSV from nodulecad detect on these scans");
    cmd->add_option("--out", o->run.run_dir, "Run folder");
    cmd->add_option("--resume", *resume, "Continue this run folder from last.pt (options from its config.json; --epochs may raise the total)");
    cmd->add_option("--annotations", o->set.annotations, "Nodule table (default DATA/annotations.csv)");
    cmd->add_option("--excluded", o->set.excluded, "Excluded findings (default DATA/annotations_excluded.csv when present)");
    cmd->add_flag("--no-centres", *no_centres, "Do not add the annotated nodule centres as extra positives");
    cmd->add_option("--positive-views", o->set.positive_views, "Extra views of each annotated training nodule: centre moved up to a\n"
                                                               "quarter of its diameter, cube turned about z (0-1000)")->capture_default_str();
    cmd->add_option("--max-negatives", o->set.max_train_negatives_per_scan,
                    "At most N negative candidates of each training scan, chosen as --negatives-by says (0 = all;\n"
                    "validation scans keep every candidate)")->capture_default_str()->check(CLI::NonNegativeNumber);
    add_enum_option(cmd, "--negatives-by", o->set.negative_choice, kNegativeChoiceNames,
                    "Which negatives a scan over --max-negatives keeps: random (a seeded draw) or hardest (the highest\n"
                    "detector probabilities)");
    cmd->add_option("--val-fraction", o->set.val_fraction, "Share of patients held out for validation")->capture_default_str();
    cmd->add_option("--val-subsets", o->set.val_subsets, "These LUNA16 subsets are the validation patients instead");
    cmd->add_option("--patch", o->set.patch.patch, "View side in voxels (even)")->capture_default_str();
    cmd->add_option("--patch-mm", o->set.patch.patch_mm, "Patch voxel size in mm")->capture_default_str();
    cmd->add_option("--epochs", o->run.epochs, "Total epochs")->capture_default_str();
    cmd->add_option("--batch", o->run.batch, "Batch size")->capture_default_str();
    cmd->add_option("--lr", o->run.lr, "Adam learning rate")->capture_default_str();
    add_enum_option(cmd, "--lr-schedule", o->run.lr_schedule, kLrScheduleNames, "constant, or cosine (lr down to lr/100 over the epochs)");
    add_enum_option(cmd, "--keep", o->run.keep, kKeepWeightsNames, "which weights best.pt holds: best-validation (the epoch scoring best on the validation patients) or final (the last epoch)");
    add_validation_options(cmd, o->run);
    cmd->add_option("--symmetries", o->symmetries, "Validation scores: mean over this many turns and mirrors of the axial plane\n"
                                                   "(1-8; 9-16 add those upside down; the model remembers it and detect --fpr\n"
                                                   "does the same)")->capture_default_str()->check(CLI::Range(1, kCubeSymmetries));
    add_enum_option(cmd, "--arch", o->net.arch, kFprArchNames,
                    "2.5d (three orthogonal views, 2D trunk) or 3d (the cube at two scales, 3D trunks;\n"
                    "--patch a multiple of 4, at least 16)");
    cmd->add_option("--width", o->net.width, "Filters of the first level (x2, x4 after)")->capture_default_str();
    cmd->add_option("--positive-ratio", o->positive_ratio, "Positives drawn per negative each epoch (copies augmented)")->capture_default_str();
    cmd->add_option("--max-samples", o->max_samples_per_epoch, "At most this many patches per epoch (0 = all)")->capture_default_str();
    cmd->add_flag("!--no-augment", o->augment, "Switch off augmentation");
    cmd->add_option("--intensity-augment", o->intensity_augment,
                    "Also scale each training cube's values by a gain in [1-A, 1+A] and move them by up to A/4 (window units;\n"
                    "0.2 = +-20 % contrast, +-70 HU); 0 = none")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 0.5));
    cmd->add_option("--device", o->run.device, "auto, cpu or cuda[:N]")->capture_default_str();
    cmd->add_flag("!--fp32", o->run.amp, "On CUDA, run in fp32 instead of bf16 autocast (no effect on a CPU)");
    cmd->add_option("--seed", o->run.seed, "Seed (split, weights, order, augmentation)")->capture_default_str();
    cmd->add_option("--threads", *threads, "CPU threads")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--loader-threads", o->run.loader_threads, "Threads preparing batches (0: 1 on a CPU, up to 8 on CUDA)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    add_rank_options(cmd, o->run.dist_timeout_s);
    cmd->callback([o, threads, resume, no_centres, cmd] {
        use_threads(*threads);
        FprTrainOptions t = *o;
        if (!resume->empty()) {
            t = fpr_resume_options(*resume);
            if (cmd->count("--epochs")) t.run.epochs = o->run.epochs;
            t.run.device = o->run.device;
            t.run.loader_threads = o->run.loader_threads;
        } else {
            if (t.set.data_dir.empty() || t.set.candidates.empty() || t.run.run_dir.empty())
                throw Error("train-fpr needs --data, --candidates and --out (or --resume RUN)");
            t.set.add_annotations = !*no_centres;
        }
        t.set.threads = *threads;
        t.run.world = join_launch();
        t.run.dist_timeout_s = o->run.dist_timeout_s;
        const FprTrainResult r = train_fpr(t);
        if (t.run.world.rank != 0) return;  // rank 0 speaks for all
        std::cerr << "train-fpr: " << r.set.rows << " patches (" << r.set.positives << " positive, " << r.set.negatives << " negative, "
                  << r.set.added_centres << " annotated centres and " << r.set.added_views << " views of them added, " << r.set.ignored << " near excluded findings left out"
                  << (r.set.reused ? ", reused" : "") << "); " << r.set.val << " validation patches on " << r.set.val_uids.size() << " scans\n";
        if (r.set.candidates_without_scan)
            std::cerr << "train-fpr: note: " << r.set.candidates_without_scan << " candidates are on scans not under --data (not used)\n";
        for (const auto& m : r.epochs) {
            std::cerr << "epoch " << m.epoch << ": loss " << m.train_loss << ", ";
            // An epoch --val-every/--val-from skip, or any epoch without validation patients, has no figures to show.
            if (std::isnan(m.val_loss))
                std::cerr << (r.set.val_uids.empty() ? "no validation patients" : "not validated");
            else
                std::cerr << "val AUC " << m.val_auc << ", precision " << m.val_precision << ", recall " << m.val_recall << ", F1 " << m.val_f1
                          << ", CPM " << m.cpm_before << " -> " << m.cpm_after;
            std::cerr << ", " << std::lround(m.samples_per_second) << " patches/s\n";
        }
    });
}

}  // namespace nodulecad::cli
