// nodulecad demo: the whole pipeline on a synthetic cohort it generates — the first command a new user runs.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/core/folder_lock.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/model/device.hpp"
#include "nodulecad/pipeline/pipeline.hpp"
#include "nodulecad/pipeline/recipes.hpp"
#include "nodulecad/preprocess/fpr_patches.hpp"
#include "nodulecad/synth/scan_spec.hpp"
#include "nodulecad/synth/cohort.hpp"

namespace nodulecad::cli {

void print_pipeline_summary(const PipelineSummary& s);  // cmd_run.cpp

namespace {

// The CPU demo's own recipe (its detector is not run's), which --help shows as the defaults.
PipelineOptions cpu_demo_recipe() {
    CohortOptions cohort;
    return demo_pipeline_options(DemoSize::Cpu, cohort);
}

struct DemoArgs {
    std::string out = "nodulecad-demo";
    std::string device = "auto";
    int scans = 0;  // 0: the configuration's own
    double full_fraction = -1;  // < 0: the configuration's own
    std::uint64_t seed = 0;
    int threads = 1;
    bool quick = false;
    // Used when given; otherwise the recipe's. Start as the CPU recipe's, so --help shows its defaults.
    Detector detector = cpu_demo_recipe().detector;
    FprArch fpr_net = cpu_demo_recipe().fpr.net.arch;
    int fpr_views = -1;  // < 0: the recipe's
    int fpr_scans = -1;  // < 0: the recipe's
    double fpr_val_fraction = -1;  // < 0: the recipe's
    Detector3dHead head = cpu_demo_recipe().det3d.head;
    NegativeChoice negatives_by = cpu_demo_recipe().fpr.set.negative_choice;
    KeepWeights fpr_keep = cpu_demo_recipe().fpr.run.keep;
    bool blobs_uncovered = false;
    bool unet_nodule_mining = false;
    int context = -1;  // < 0: the recipe's
    int unet_epochs = 0;  // 0: the recipe's
    double unet_val_fraction = -1;  // < 0: the recipe's
    double pixel_mm = 0;  // 0: the recipe's
    double fpr_patch_mm = 0;  // 0: the recipe's
    double mask_min_diameter_mm = -1;  // < 0: the recipe's
    UNetLoss loss = cpu_demo_recipe().unet.loss;
};

}  // namespace

void register_demo(CLI::App& app) {
    auto a = std::make_shared<DemoArgs>();
    a->threads = default_thread_count();
    CLI::App* cmd = app.add_subcommand(
        "demo",
        "Generate a synthetic cohort and run the whole pipeline on it: synth -> preprocess -> U-Net -> predict ->\n"
        "candidates -> false-positive reduction -> evaluate on held-out scans -> report (--detector heatmap3d: the\n"
        "3D detector on the lungs' box instead of the U-Net). Under 15 minutes on a 2-core CPU (100 scans, 30 % of\n"
        "them thin-slice, 20 held out); with --device cuda on a GPU it runs full-size scans with both detectors\n"
        "pooled (the seed's U-Net and a full-size 3D detector on a 1.5 mm grid).\n"
        "Re-running continues where it stopped. Last line: CPM <value> (<n> held-out scans) — report: <path>.");
    cmd->add_option("--out", a->out, "Output folder (cohort, every stage, report.html)")->capture_default_str();
    cmd->add_option("--device", a->device, "auto, cpu or cuda[:N]")->capture_default_str();
    cmd->add_option("--scans", a->scans, "Scans to generate (default 100; subsets 8 and 9 are held out)");
    cmd->add_option("--seed", a->seed, "Seed of the cohort and of training")->capture_default_str();
    cmd->add_option("--full-fraction", a->full_fraction,
                    "Share of the cohort's scans generated at the full preset (LUNA16-like 512x512, thin slices) instead\n"
                    "of the demo preset, for a bundle that has seen both (default 0.3 on a CPU, 0 with --quick and on CUDA;\n"
                    "docs/pipeline.md)")
        ->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--threads", a->threads, "CPU threads")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_flag("--quick", a->quick, "A tiny configuration (6 small scans, 1 epoch) that checks the machinery in a minute");
    CLI::Option* detector = add_enum_option(cmd, "--detector", a->detector, kDetectorNames,
                                            "First stage: unet2d (the seed's 2D U-Net on every slice), heatmap3d (a 3D\n"
                                            "centre-heatmap network on the lungs' box) or unet2d+heatmap3d (both, candidates\n"
                                            "pooled); default: unet2d on a CPU, unet2d+heatmap3d on CUDA (docs/model.md)");
    CLI::Option* fpr_net = add_enum_option(cmd, "--fpr-net", a->fpr_net, kFprArchNames,
                                           "False-positive reduction: 2.5d (three orthogonal views) or 3d (the candidate's\n"
                                           "cube at two scales of context; docs/model.md)");
    CLI::Option* head = add_enum_option(cmd, "--detector3d-head", a->head, kDetector3dHeadNames,
                                        "What the 3D network learns: heatmap (nodule centres; candidates are its peaks) or\n"
                                        "segmentation (each nodule's ball; candidates are its components)");
    cmd->add_option("--fpr-views", a->fpr_views,
                    "Extra views of each annotated training nodule for the false-positive reduction (centre moved,\n"
                    "turned about z; default: the recipe's, docs/detect.md)")
        ->check(CLI::Range(0, 1000));
    cmd->add_option("--fpr-scans", a->fpr_scans,
                    "Training scans whose candidates teach the false-positive reduction (0 = all; default: the recipe's,\n"
                    "48 of 80 on a CPU, docs/pipeline.md)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--fpr-val-fraction", a->fpr_val_fraction,
                    "Share of the training scans held out as the false-positive reduction's validation patients, among\n"
                    "--fpr-scans (at most a quarter of them; 0 = none: it learns from all; default: the recipe's, docs/model.md)")
        ->check(CLI::Range(0.0, 0.9));
    CLI::Option* negatives_by = add_enum_option(
        cmd, "--fpr-negatives-by", a->negatives_by, kNegativeChoiceNames,
        "Which 30 negative candidates of each training scan teach the false-positive reduction: random (a seeded\n"
        "draw) or hardest (the highest detector probabilities; docs/detect.md)");
    CLI::Option* fpr_keep = add_enum_option(
        cmd, "--fpr-keep", a->fpr_keep, kKeepWeightsNames,
        "The false-positive reduction's weights: final (the last epoch's; validated after it only) or best-validation\n"
        "(the best validation AUC, validated every 3rd epoch of the second half; docs/model.md)");
    cmd->add_flag("--blobs-uncovered", a->blobs_uncovered,
                  "The U-Net's 10 blob candidates a scan are the 10 strongest blobs no U-Net candidate covers (default:\n"
                  "those of the 10 strongest blobs that none covers; docs/detect.md)");
    CLI::Option* loss = add_enum_option(cmd, "--loss", a->loss, kUNetLossNames,
                                        "The U-Net's loss: dice (negative soft Dice over the batch), dice_bce (plus binary\n"
                                        "cross-entropy), sample_dice_bce (each nodule crop's soft Dice averaged, plus binary\n"
                                        "cross-entropy) or sample_tversky_bce (the same with each crop's Tversky index:\n"
                                        "missed nodule pixels weigh 0.7, false positive ones 0.3; docs/model.md)");
    cmd->add_option("--context", a->context,
                    "U-Net input: K slices above and below each slice as extra channels (2K+1; the recipe's 1; docs/model.md)")
        ->check(CLI::Range(0, 10));
    cmd->add_flag("--unet-nodule-mining", a->unet_nodule_mining,
                  "The U-Net draws the training nodules it segmented worst last epoch more often (up to five times; train\n"
                  "--nodule-mining, docs/model.md)");
    cmd->add_option("--unet-epochs", a->unet_epochs, "U-Net training epochs (default: the recipe's, 30 on a CPU)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--unet-val-fraction", a->unet_val_fraction,
                    "Share of the training patients held out as the U-Net's validation patients (0 = none: it learns from\n"
                    "all and keeps its final epoch's weights; default: the recipe's, 0.08 on a CPU; docs/model.md)")
        ->check(CLI::Range(0.0, 0.9));
    cmd->add_option("--pixel-mm", a->pixel_mm,
                    "The U-Net's pixel in mm; its slices keep their field of view, so they grow as it shrinks (default:\n"
                    "the recipe's, 1.0 mm and 320 px on a CPU; run --pixel-mm with --size, docs/model.md)")
        ->check(CLI::Range(0.2, 5.0));
    cmd->add_option("--fpr-patch-mm", a->fpr_patch_mm,
                    "Voxel of the false-positive reduction's candidate cubes in mm (its inner scale; the outer one twice\n"
                    "it; default: the recipe's, 0.8 on a CPU, 1.0 with --quick and on CUDA; docs/model.md)")
        ->check(CLI::Range(0.3, 3.0));
    cmd->add_option("--mask-min-diameter-mm", a->mask_min_diameter_mm,
                    "The U-Net's targets: nodules smaller than this drawn as balls of this diameter (0: as annotated;\n"
                    "default: the recipe's, 6 on a CPU, 0 with --quick and on CUDA; docs/model.md)")
        ->check(CLI::Range(0.0, 100.0));
    cmd->callback([a, detector, fpr_net, head, negatives_by, fpr_keep, loss] {
        namespace fs = std::filesystem;
        use_threads(a->threads);
        const bool cuda = a->device.rfind("cuda", 0) == 0 || (a->device == "auto" && cuda_available());
        CohortOptions cohort;
        PipelineOptions o = demo_pipeline_options(a->quick ? DemoSize::Quick : cuda ? DemoSize::Cuda : DemoSize::Cpu, cohort);
        if (detector->count() > 0) o.detector = a->detector;
        if (fpr_net->count() > 0) o.fpr.net.arch = a->fpr_net;
        if (head->count() > 0) o.det3d.head = a->head;
        if (negatives_by->count() > 0) o.fpr.set.negative_choice = a->negatives_by;
        if (fpr_keep->count() > 0) set_fpr_keep(o, a->fpr_keep);
        if (loss->count() > 0) o.unet.loss = a->loss;
        if (a->fpr_views >= 0) o.fpr.set.positive_views = a->fpr_views;
        if (a->fpr_scans >= 0) o.fpr_scans = a->fpr_scans;
        if (a->fpr_val_fraction >= 0) o.fpr.set.val_fraction = a->fpr_val_fraction;
        if (a->blobs_uncovered) o.detect.blobs_uncovered = true;
        if (a->unet_nodule_mining) o.unet.nodule_mining = true;
        if (a->context >= 0) set_unet_context(o, a->context);
        if (a->unet_epochs > 0) o.unet.run.epochs = a->unet_epochs;
        if (a->unet_val_fraction >= 0) set_unet_val_fraction(o, a->unet_val_fraction);
        if (a->pixel_mm > 0) set_unet_pixel_mm(o, a->pixel_mm);
        if (a->fpr_patch_mm > 0) o.fpr.set.patch.patch_mm = a->fpr_patch_mm;
        if (a->mask_min_diameter_mm >= 0) o.prep.mask_min_diameter_mm = a->mask_min_diameter_mm;
        if (a->scans > 0) cohort.scans = a->scans;
        if (a->full_fraction >= 0) cohort.full_fraction = a->full_fraction;
        cohort.out_dir = (fs::path(a->out) / "cohort").string();
        cohort.seed = a->seed;
        cohort.threads = a->threads;
        const FolderLock lock(a->out, "demo");  // one demo at a time in OUT (its pipeline locks OUT/work as well)
        remove_stale_temporaries(a->out);        // what a killed run left mid-write
        // The cohort is generated once; a marker with its options makes a re-run reuse it.
        const std::string marker = (fs::path(a->out) / "cohort.json").string();
        nlohmann::json key = {{"scans", cohort.scans}, {"seed", cohort.seed}, {"preset", std::string(preset_name(cohort.preset))},
                              {"flip_fraction", cohort.flip_fraction}};
        if (cohort.full_fraction > 0) key["full_fraction"] = cohort.full_fraction;  // older markers stay valid without it
        // The generator's version (manifest.json's model_version): since version 2 nodules hidden inside vessels are
        // excluded findings, so an older cohort's tables differ and it is generated again.
        key["synth_version"] = kSynthModelVersion;
        std::error_code ec;
        bool have = false;
        if (fs::exists(marker, ec)) {
            try {
                have = nlohmann::json::parse(read_file(marker)) == key;
            } catch (const nlohmann::json::exception&) {
            }
        }
        if (!have) {
            std::cerr << "[synth] " << cohort.scans << " synthetic scans (" << preset_name(cohort.preset) << " preset";
            if (cohort.full_fraction > 0) std::cerr << ", " << cohort.full_fraction * 100 << " % of them full";
            std::cerr << ") -> " << cohort.out_dir << "\n";
            fs::remove_all(cohort.out_dir, ec);
            fs::create_directories(a->out);
            write_cohort(cohort);
            write_file_atomically(marker, key.dump() + "\n");
        } else {
            std::cerr << "[synth] cohort exists, reused: " << cohort.out_dir << "\n";
        }
        o.data_dir = cohort.out_dir;
        o.work_dir = (fs::path(a->out) / "work").string();
        o.device = a->device;
        o.threads = a->threads;
        o.seed = a->seed;
        print_pipeline_summary(run_pipeline(o));
    });
}

}  // namespace nodulecad::cli
