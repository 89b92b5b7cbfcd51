// nodulecad run --data DIR --out WORK: the whole pipeline on a cohort laid out like LUNA16, resumable.
#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/model/detector3d_config.hpp"
#include "nodulecad/pipeline/pipeline.hpp"
#include "nodulecad/pipeline/recipes.hpp"

namespace nodulecad::cli {

void print_pipeline_summary(const PipelineSummary& s) {
    double total = 0, cpu = 0;
    for (const auto& t : s.stages) total += t.seconds, cpu += t.cpu_seconds;
    std::cerr << "stages:";
    for (const auto& t : s.stages) {
        char buf[96];
        std::snprintf(buf, sizeof buf, " %s %s", t.name.c_str(), t.skipped ? "(skipped)" : (std::to_string(static_cast<long>(t.seconds + 0.5)) + " s").c_str());
        std::cerr << buf << ";";
    }
    // CPU time beside the wall clock: over the wall time, the cores the run kept busy.
    std::cerr << " total " << static_cast<long>(total + 0.5) << " s (CPU time " << static_cast<long>(cpu + 0.5) << " s)\n";
    const std::string within = mark_budgets_line(s.before_reduction_within);
    std::cerr << "Before FP reduction: CPM " << s.cpm_unet << (within.empty() ? "" : "; " + within) << "; FP reduction rule: " << s.combine << "; " << s.detected << "/" << s.nodules << " nodules found; submission: " << s.submission << "\n";
    std::printf("CPM %.4f (%d held-out scans) — report: %s\n", s.cpm, s.test_scans, s.report.c_str());
}

void register_run(CLI::App& app) {
    auto o = std::make_shared<PipelineOptions>(cpu_pipeline_defaults());
    o->threads = default_thread_count();
    auto combine = std::make_shared<std::string>("auto");
    CLI::App* cmd = app.add_subcommand(
        "run",
        "The whole pipeline on a cohort laid out like LUNA16 (DATA/subset*/<uid>.mhd, annotations.csv, optional\n"
        "annotations_excluded.csv): split by patient -> preprocess -> train the U-Net -> predict -> candidates ->\n"
        "train and apply the false-positive reduction -> evaluate (CPM before and after) -> report (--detector\n"
        "heatmap3d: lung boxes on a 2 mm grid -> the 3D detector -> heatmap peaks instead; unet2d+heatmap3d:\n"
        "both, their candidates pooled). One folder per\n"
        "stage under WORK; a stage whose outputs exist is skipped and interrupted training resumes, so a large cohort\n"
        "can be processed over several sittings. Last line: CPM <value> (<n> held-out scans) — report: <path>.");
    cmd->add_option("--data", o->data_dir, "Cohort folder")->required();
    cmd->add_option("--out", o->work_dir, "Work folder")->required();
    cmd->add_option("--annotations", o->annotations, "Nodule table (default DATA/annotations.csv)");
    cmd->add_option("--excluded", o->excluded, "Excluded findings (default DATA/annotations_excluded.csv when present)");
    auto* folds = cmd->add_option("--folds", o->folds, "Cross-validation by subset: fold f tests subsets s with s % folds == f (LUNA16: 10)");
    auto* subsets = cmd->add_option("--val-subsets", o->test_subsets, "One split: these subsets are held out for testing");
    folds->excludes(subsets);
    cmd->add_option("--fold", o->fold, "With --folds: run fold F's stages alone, one job of a Slurm array (docs/distributed.md); no evaluation")
        ->check(CLI::NonNegativeNumber);
    cmd->add_flag("--merge", o->merge, "With --folds: evaluate and report the folds together once each one's job (--fold F) has finished;\n"
                                       "trains nothing, and names the folds that have not finished");
    cmd->add_option("--test-fraction", o->test_fraction, "One split without --val-subsets: this share of patients is held out")->capture_default_str();
    add_enum_option(cmd, "--detector", o->detector, kDetectorNames,
                    "First stage: unet2d (the seed's 2D U-Net on every slice), heatmap3d (a 3D centre-heatmap\n"
                    "network on the lungs' box) or unet2d+heatmap3d (both, their candidates pooled for the\n"
                    "false-positive reduction; docs/model.md)");
    cmd->add_option("--epochs", o->unet.run.epochs, "U-Net epochs")->capture_default_str();
    cmd->add_option("--val-every", o->unet.run.validate_every, "Validate the U-Net after every Nth epoch and the last (the others cannot\n"
                                                               "become its best.pt)")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--val-from", o->unet.run.validate_from, "Validate the U-Net only from this epoch on (and after the last)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    cmd->add_option("--unet-val-fraction", o->prep.val_fraction,
                    "Share of the training patients held out as the U-Net's validation patients (0 = none: it learns from\n"
                    "all and keeps its final epoch's weights)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 0.9));
    add_enum_option(cmd, "--loss", o->unet.loss, kUNetLossNames,
                    "U-Net loss: dice (negative soft Dice over the batch), dice_bce (plus binary cross-entropy),\n"
                    "sample_dice_bce (each nodule crop's soft Dice averaged, plus binary cross-entropy) or\n"
                    "sample_tversky_bce (the same with the Tversky index: missed pixels 0.7, false ones 0.3; docs/model.md)");
    cmd->add_option("--crop", o->unet.crop, "U-Net training window (0 = whole slices)")->capture_default_str();
    cmd->add_option("--context", o->prep.context, "U-Net input: K slices above and below each slice as extra channels (2K+1 channels;\n"
                                                 "the neighbouring slices, whatever their thickness)")->capture_default_str()->check(CLI::Range(0, 10));
    cmd->add_flag("--unet-nodule-mining", o->unet.nodule_mining,
                  "The U-Net draws the training nodules it segmented worst last epoch more often (up to five times; train\n"
                  "--nodule-mining, docs/model.md)");
    cmd->add_option("--filters", o->unet.unet.base_filters, "U-Net filters at the first level")->capture_default_str();
    cmd->add_option("--depth", o->unet.unet.depth, "U-Net levels")->capture_default_str();
    cmd->add_option("--size", o->prep.size, "Sample size in pixels")->capture_default_str();
    cmd->add_option("--pixel-mm", o->prep.pixel_mm, "Sample pixel in mm")->capture_default_str();
    cmd->add_option("--mask-min-diameter-mm", o->prep.mask_min_diameter_mm,
                    "The U-Net's targets: nodules smaller than this drawn as balls of this diameter (0: as annotated;\n"
                    "docs/model.md)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 100.0));
    cmd->add_option("--grid-mm", o->grid3d.spacing_mm, "heatmap3d: voxel side of the millimetre grid")->capture_default_str();
    add_enum_option(cmd, "--grid-sampling", o->grid3d.sampling, kGridSamplingNames,
                    "heatmap3d: a grid voxel is the scan at its centre (centre) or the scan's mean over its cell\n"
                    "(cell-mean: thin- and thick-slice scans alike reach the grid at its resolution)");
    cmd->add_option("--patch", o->det3d.patch, "heatmap3d: training patch side in voxels")->capture_default_str();
    cmd->add_option("--detector3d-epochs", o->det3d.run.epochs, "heatmap3d: training epochs")->capture_default_str();
    cmd->add_option("--detector3d-filters", o->det3d.net.base_filters, "heatmap3d: filters at the first level")->capture_default_str();
    cmd->add_option("--detector3d-flips", o->detector3d_flips, "heatmap3d: test-time passes averaged: none, then x, y, z, xy, xz, yz, xyz\n"
                                                               "mirrored (1-8)")->capture_default_str()->check(CLI::Range(1, kMaxDetector3dFlips));
    cmd->add_option("--detector3d-blobs", o->peaks.blobs_per_scan, "heatmap3d: also those of the N strongest 3D blobs per scan that no peak covers (0 = peaks only)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    add_enum_option(cmd, "--detector3d-input", o->det3d.net.input, kDetector3dInputNames,
                    "heatmap3d: what the 3D network sees: lung (the grid's window, -1000..400 HU), lung+glass (also\n"
                    "its lower half, -1000..-300 HU, stretched: ground glass at twice the contrast) or lung+mask (also\n"
                    "the lung mask on the grid: the lungs' outline apart from the chest wall)");
    add_enum_option(cmd, "--detector3d-head", o->det3d.head, kDetector3dHeadNames,
                    "heatmap3d: what the 3D network learns: heatmap (nodule centres; candidates are its peaks) or\n"
                    "segmentation (each nodule's ball; candidates are its components at --component-threshold)");
    cmd->add_option("--component-threshold", o->peaks.component_threshold,
                    "heatmap3d with --detector3d-head segmentation: probability a component's voxels reach")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    add_enum_option(cmd, "--detector3d-keep", o->det3d.run.keep, kKeepWeightsNames,
                    "heatmap3d: the weights used: final (the last epoch's) or best-validation (the lowest loss on the\n"
                    "validation patients' patches)");
    add_enum_option(cmd, "--fpr-keep", o->fpr.run.keep, kKeepWeightsNames,
                    "The false-positive reduction's weights: best-validation (the epoch with the best validation AUC) or\n"
                    "final (the last epoch's; the demo's recipe, docs/model.md)");
    add_enum_option(cmd, "--fpr-net", o->fpr.net.arch, kFprArchNames,
                    "False-positive reduction: 2.5d (three orthogonal views of each candidate) or 3d (the candidate's\n"
                    "cube at two scales of context; docs/model.md)");
    cmd->add_option("--fpr-epochs", o->fpr.run.epochs, "False-positive-reduction epochs")->capture_default_str();
    cmd->add_option("--fpr-patch-mm", o->fpr.set.patch.patch_mm,
                    "Voxel of the false-positive reduction's candidate cubes in mm (its inner scale; the outer one twice it;\n"
                    "train-fpr --patch-mm, docs/model.md)")
        ->capture_default_str()
        ->check(CLI::Range(0.3, 3.0));
    cmd->add_option("--fpr-views", o->fpr.set.positive_views, "Extra views (centre moved, turned about z) of each annotated training nodule for the\n"
                                                           "false-positive reduction")->capture_default_str();
    cmd->add_option("--fpr-negatives", o->fpr.set.max_train_negatives_per_scan,
                    "Train the false-positive reduction on at most N negative candidates of each training scan, by\n"
                    "default a seeded random choice (0 = all; the demo uses 30 to bound its time)")->capture_default_str()->check(CLI::NonNegativeNumber);
    add_enum_option(cmd, "--fpr-negatives-by", o->fpr.set.negative_choice, kNegativeChoiceNames,
                    "Which negatives a training scan over --fpr-negatives keeps: random (a seeded draw) or hardest (the\n"
                    "highest detector probabilities)");
    cmd->add_option("--fpr-scans", o->fpr_scans, "Predict at most this many training scans for FPR candidates (0 = all)")->capture_default_str();
    cmd->add_option("--fpr-val-fraction", o->fpr.set.val_fraction,
                    "Share of the training scans held out as the false-positive reduction's validation patients, among those\n"
                    "whose candidates it learns from (with --fpr-scans at most a quarter of them; 0 = none: it learns from\n"
                    "all, and best.pt is the last epoch's; docs/model.md)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 0.9));
    cmd->add_option("--blobs", o->detect.blobs_per_scan, "Also those of the N strongest 3D blobs per scan that no U-Net candidate covers (small\n"
                                                         "round nodules the U-Net misses; 0 = U-Net candidates only)")->capture_default_str()->check(CLI::NonNegativeNumber);
    cmd->add_flag("--blobs-uncovered", o->detect.blobs_uncovered,
                  "--blobs counts only blobs no U-Net candidate covers, so every scan gets N new candidates (default:\n"
                  "of the N strongest blobs, those no U-Net candidate covers; docs/detect.md)");
    cmd->add_option("--combine", *combine, "How the FPR probability is used: replace, product, mean, or auto (replace with --blobs;\n"
                                           "without, the best mean CPM on the FP reduction's validation patients over the 5 epochs\n"
                                           "up to its best.pt)")->capture_default_str()->check(CLI::IsMember({"auto", "replace", "product", "mean"}));
    cmd->add_option("--bootstrap", o->bootstrap, "Bootstrap resamples for the CPM interval")->capture_default_str();
    cmd->add_option("--device", o->device, "auto, cpu or cuda[:N]")->capture_default_str();
    cmd->add_option("--seed", o->seed, "Seed (splits, weights, sampling)")->capture_default_str();
    cmd->add_option("--threads", o->threads, "CPU threads")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->callback([o, combine] {
        use_threads(o->threads);
        PipelineOptions p = *o;
        set_unet_context(p, p.prep.context);
        set_unet_val_fraction(p, p.prep.val_fraction);
        p.combine = enum_from_name(*combine, kFprCombineNames);  // "auto": none, chosen by validation
        const PipelineSummary s = run_pipeline(p);
        if (s.fold >= 0) {
            std::printf("fold %d finished (%d held-out scans; candidates: %s) — `run ... --folds %d --merge` evaluates all folds once each has finished\n", s.fold,
                        s.test_scans, s.submission.c_str(), p.folds);
            return;
        }
        print_pipeline_summary(s);
    });
}

}  // namespace nodulecad::cli
