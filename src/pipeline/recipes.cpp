#include "nodulecad/pipeline/recipes.hpp"

#include <cmath>

namespace nodulecad {

PipelineOptions cpu_pipeline_defaults() {
    PipelineOptions o;
    o.prep.size = 320;
    o.prep.pixel_mm = 1.0;
    // One slice above and one below (3 channels). Two each side (--context 2) put six fewer of 83 held-out nodules
    // among the candidates on three tuning seeds, most of them the small nodules against a vessel it was meant to
    // find (docs/model.md, "Five slices instead of three").
    o.prep.context = 1;
    o.prep.negatives_per_positive = 0.5;
    o.prep.val_fraction = 0.1;
    o.unet.unet = {3, 16, 4, true};
    // Each nodule crop's Dice averaged, not the batch's (where a large nodule's pixels outweigh a small one's): on
    // three tuning seeds of the demo the held-out CPM rose from 0.786 to 0.815 on the mean (higher on two of three)
    // and 67 instead of 62 of 75 nodules came among the candidates, at about 98 U-Net candidates a held-out scan
    // instead of 51 (docs/model.md, "Each crop's Dice"). Run after the choice, the demo's seeds 0-2 scored lower
    // (0.774 against 0.812 on the mean; docs/pipeline.md): over six seeds the two losses score alike, the new one with
    // six more of 155 nodules among its candidates. The batch Dice + cross-entropy: --loss dice_bce. Each crop's
    // Tversky index instead (--loss sample_tversky_bce, missed pixels weighing 0.7) put three fewer of 76 held-out
    // nodules among the candidates on three tuning seeds and found none more (docs/model.md, "Missed pixels weighed
    // more").
    o.unet.loss = UNetLoss::SampleDiceBce;
    o.unet.run.lr = 2e-3;
    o.unet.run.lr_schedule = LrSchedule::Cosine;
    o.unet.run.batch = 16;
    o.unet.crop = 64;
    o.unet.run.epochs = 30;
    o.unet.epoch_samples = 1000;
    o.unet.sampling = Sampling::Nodules;
    // Low enough for the small nodules the U-Net is unsure of (the FP reduction ranks them), and more negatives to
    // train the reduction on.
    o.detect.threshold = 0.1;
    // Plus those of the 10 strongest 3D blobs per scan that no U-Net candidate covers (3-10, on average 5.6 a scan on
    // the demo's training scans): the small nodules a 2D network misses (docs/pipeline.md: 82 -> 92 of 115 nodules
    // among the candidates).
    o.detect.blobs_per_scan = 10;
    // A component's peak with ties broken by the share of its voxels at the peak: the 8-bit maps put a dozen or more
    // components a scan at 1.0. On four tuning folders the first 30 marks a scan held 99 of 113 held-out nodules
    // against 95 by the peak alone, and the CPM before the reduction rose from 0.15 to 0.40; the reduction's
    // candidates are the same (docs/model.md, "The first stage's ties broken").
    o.detect.score = CandidateScore::PeakShare;
    o.fpr.run.epochs = 40;
    o.fpr.run.batch = 64;
    o.fpr.run.lr = 1e-3;
    // The 3D false-positive reduction (the candidate's cube at two scales) at width 8: on a tuning cohort it beat the
    // 2.5D one with every training seed (CPM 0.72-0.73 against 0.62-0.67 on the 2D detector's candidates, 0.82
    // against 0.72 on the 3D detector's); width 16 scored the same and trains at half the speed (docs/model.md).
    o.fpr.net.arch = FprArch::Cube3d;
    o.fpr.net.width = 8;
    // The 3D detector (--detector heatmap3d): 2 mm voxels, 32-voxel (64 mm) patches, 8 filters over 4 levels (about
    // 20 patches/s on 2 cores; 16 filters and 48-voxel patches: 2.8/s), Adam 1e-3 with a cosine decay; at most 30
    // candidates a scan (the budget before the reduction, and what keeps the reduction's training short).
    o.grid3d.spacing_mm = 2.0;
    o.det3d.net = {1, 8, 4, true};
    o.det3d.patch = 32;
    o.det3d.run.epochs = 20;
    o.det3d.run.batch = 4;
    o.det3d.run.lr = 1e-3;
    o.det3d.run.lr_schedule = LrSchedule::Cosine;
    o.det3d.epoch_samples = 384;
    // Hard negatives mined from 128 random training patches after each epoch, not 32 (about 210 false peaks an epoch
    // instead of 50; a second or two of forward passes): on three tuning cohorts, before the reduction, CPM 0.786 ->
    // 0.825, 0.634 -> 0.733 and 0.551 -> 0.549 (one seed; docs/model.md).
    o.det3d.hard_mining_patches = 128;
    // The last epoch's weights, not the lowest validation loss's: on the few validation patients that loss jumps
    // from epoch to epoch, and on a tuning cohort it once chose epoch 7 of 20 (CPM before the reduction 0.42; the
    // final epoch's 0.69; docs/model.md).
    o.det3d.run.keep = KeepWeights::Final;
    o.peaks.max_per_scan = 30;
    // Four test-time passes (none, x, y, z mirrored), averaged, for the candidates of training and held-out scans
    // alike, so the reduction learns from the candidates it will rescore: on the mixed tuning cohort it raised the
    // CPM after the reduction with every training seed (docs/model.md, "Four mirrored passes"), at 4x the 3D
    // detector's inference time (12 s instead of 2.8 s a thin-slice scan on 2 cores).
    o.detector3d_flips = 4;
    // The detector stays the seed's 2D U-Net. Over three training seeds each on tuning cohorts, the 3D one with four
    // passes scored above it on mixed held-out scans beyond the seeds' spread (0.794-0.833 against 0.611-0.770), but
    // on 16 thin-slice scans — the kind LUNA16 holds — the ranges overlap (0.776-0.826 against 0.652-0.789), and the
    // rule is a difference beyond the spread on both (docs/model.md, "run's detector"); --detector heatmap3d selects it.
    o.detector = Detector::UNet2d;
    return o;
}

void set_unet_context(PipelineOptions& o, int context) {
    o.prep.context = context;
    o.unet.unet.in_channels = 2 * context + 1;
}

void set_fpr_keep(PipelineOptions& o, KeepWeights keep) {
    o.fpr.run.keep = keep;
    o.fpr.run.validate_from = keep == KeepWeights::Final ? o.fpr.run.epochs : o.fpr.run.epochs / 2 + 1;
}

void set_unet_val_fraction(PipelineOptions& o, double fraction) {
    o.prep.val_fraction = fraction;
    if (fraction == 0) o.unet.run.keep = KeepWeights::Final;
}

void set_unet_pixel_mm(PipelineOptions& o, double pixel_mm) {
    const double field_mm = o.prep.size * o.prep.sample_pixel_mm();
    o.prep.size = 16 * static_cast<int>(std::ceil(field_mm / pixel_mm / 16 - 1e-9));
    o.prep.pixel_mm = pixel_mm;
}

PipelineOptions demo_pipeline_options(DemoSize size, CohortOptions& cohort) {
    PipelineOptions o = cpu_pipeline_defaults();
    // The demo runs the seed's U-Net whatever run's default: the 3D detector with four passes would take about 16.5
    // of its 15 minutes (its one-pass 3D stages took 639 s after the cohort; four passes add about 280 s).
    o.detector = Detector::UNet2d;
    cohort.preset = Preset::Demo;
    // subset = scan % 10, so subsets 8 and 9 hold 20 scans: 16 held-out scans (23 nodules) left a 95 % interval of
    // +-0.18 on the CPM; more training scans cost little (training time is set by the crops drawn, not the scans).
    cohort.scans = 100;
    o.test_subsets = {8, 9};
    o.prep.val_fraction = 0.08;  // 6 of the 80 training patients: the U-Net's validation runs their whole slices
    // No scale augmentation in the demo's short schedule: it makes the U-Net better on its own (validation Dice 0.61
    // -> 0.66, CPM before the reduction 0.27 -> 0.37 on 68 scans) but more specific, so its candidates hold 5 fewer
    // of 115 nodules and the FP reduction gets fewer negatives to learn from: 0.615 instead of 0.687 at the end
    // (docs/pipeline.md).
    o.unet.scale_augment = 0;
    // 30 epochs of the 3D FP reduction instead of run's 40 keep the demo within 15 minutes (40: 15 min 21 s); on
    // the tuning cohort 30 scored 0.69-0.75 over three seeds, 40 0.72-0.74, the 2.5D reduction 0.62-0.67. Two of 15
    // epochs with their probabilities averaged (the same training time) scored lower on six tuning folders, 0.809
    // against 0.838 (docs/model.md, "Two reductions averaged at the demo's training time").
    o.fpr.run.epochs = 30;
    // 30 % of the cohort at the full preset (thin slices, 512x512): on tuning cohorts, training on such a mix raised
    // both detectors' bundles on thin-slice scans by 0.06-0.13 CPM and left demo-like scans within the seed spread
    // (docs/model.md). Those scans have many more slices, so two savings keep the demo within 15 minutes (14 min 0 s;
    // 18 min 11 s without them and before the faster blob filter): the U-Net validates every 3rd epoch (its
    // whole-slice validation was 6 of 15 s an epoch) and the FP reduction's candidates come from 24 training scans
    // instead of 32.
    cohort.full_fraction = 0.3;
    o.unet.run.validate_every = 3;
    // The reduction's candidates came from 24 training scans until 2026-12-05; the demo having become faster since,
    // 48: on four tuning seeds the reduction learning from 48 scans' candidates scored 0.756 against 0.729 held out
    // (higher on three of four; all 80: 0.765, but 12.5-13 minutes in all) for about 2.5 more minutes (docs/model.md).
    o.fpr_scans = 48;
    // At most 30 negative candidates of each training scan for the FP reduction: the U-Net's candidate count swings
    // threefold between training draws (500 and 1,506 on the 24 scans in two runs of 2026-12-03), and the
    // reduction's training time with it (117 s against 328 s: 17.5 minutes in all); 30 bounds the stage near the
    // former whatever the draw (docs/pipeline.md).
    o.fpr.set.max_train_negatives_per_scan = 30;
    // ...and it validates every 3rd epoch, like the U-Net: its validation scores every candidate of its validation
    // scans under 8 turns and mirrors, about 3.5 of the 8 s an epoch took in that run.
    o.fpr.run.validate_every = 3;
    // The U-Net validates only in the second half of its epochs (and after the last): under the cosine learning rate
    // its first half never held its best weights in the demo's runs (best validated epochs 21 and 27 of 30;
    // validation Dice below 0.48 before epoch 15, 0.60 at the end), and its five validations saved are about 37 s
    // (7.4 s each). The reduction did so too (its best epochs were 24 and 24 validating every 3rd, and 17 validating
    // every epoch: AUC 0.982, which epoch 28 matched) until it kept its final weights, below.
    o.unet.run.validate_from = 16;
    // The reduction keeps its final epoch's weights and validates after it only (for the record): on six tuning work
    // folders, eighteen paired reductions (three training recipes), the final epoch scored as the best validated one
    // on the mean (+0.002; with this recipe 0.808 against 0.811), and its four validations before the last took about
    // 25 s (docs/model.md, "Where the held-out CPM goes"). Until then: best-validation, every 3rd epoch from 16.
    set_fpr_keep(o, KeepWeights::Final);
    // Keeping its final weights, the reduction needs no validation patients (12 of its 48 scans, only for the record
    // since): it learns from all 48 scans' candidates and every training scan's annotated nodules. On six tuning
    // folders the held-out CPM rose from 0.799 to 0.838 on the mean (higher on five, equal on one), for about 20 s
    // more of its training in the demo (a third more patches an epoch; docs/model.md, "The reduction's validation
    // patients taught as well"). The quick and CUDA recipes keep theirs. --fpr-val-fraction 0.15 brings them back.
    if (size == DemoSize::Cpu) o.fpr.set.val_fraction = 0;
    // The reduction's cubes on a 0.8-mm grid (its inner scale 12.8 mm across, the outer 51 mm; 1.0 mm before): the same
    // voxels, so the same training time. On four tuning folders, offline with each folder's own candidates, the held-out
    // CPM rose from 0.831 to 0.845 on the mean (higher on two, equal on one, lower by 0.006 on one); 1.25 mm was lower
    // on the first two (docs/model.md, "The reduction's cubes on a finer grid"). run keeps 1.0 (its own recipe, not
    // measured); --fpr-patch-mm sets it.
    if (size == DemoSize::Cpu) o.fpr.set.patch.patch_mm = 0.8;
    // The U-Net learns nodules under 6 mm as 6-mm balls: every held-out nodule its candidates lacked on four tuning
    // folders was 3.5-6.5 mm, a handful of pixels on its 1-mm slices. On four fresh tuning seeds it put 83 of 99
    // held-out nodules among each scan's first 30 candidates against 80 (the rule's three more), the CPM before the
    // reduction 0.41 against 0.29 on the mean, after it 0.771 against 0.769; within 100 a scan the same 85 (docs/model.md,
    // "Small nodules' targets widened"). The candidates' diameters of small nodules come out near 6 mm. run, quick and
    // CUDA keep the annotated diameters (not measured there); --mask-min-diameter-mm 0 brings them back.
    if (size == DemoSize::Cpu) o.prep.mask_min_diameter_mm = 6;
    if (size == DemoSize::Quick) {
        cohort.full_fraction = 0;
        o.unet.run.validate_every = 1;
        cohort.preset = Preset::Small;
        cohort.scans = 6;
        o.test_subsets = {4, 5};
        o.prep.size = 128;
        o.prep.pixel_mm = 2.8;
        o.unet.unet = {3, 4, 3, true};
        o.unet.crop = 32;
        o.unet.run.epochs = 1;
        o.unet.epoch_samples = 0;
        o.fpr.run.epochs = 1;
        o.fpr.net.width = 4;
        o.fpr.set.patch.patch = 16;
        o.fpr_scans = 0;
        o.grid3d.spacing_mm = 4;
        o.det3d.net = {1, 4, 2, true};
        o.det3d.patch = 16;
        o.det3d.run.epochs = 1;
        o.det3d.epoch_samples = 8;
        o.det3d.hard_mining_patches = 4;
        o.bootstrap = 50;
        o.gallery = 1;
    } else if (size == DemoSize::Cuda) {
        cohort.preset = Preset::Full;
        cohort.full_fraction = 0;
        o.unet.run.validate_every = 1;
        o.unet.run.validate_from = 1;  // validation is cheap beside training on a GPU; not measured there
        o.fpr.run.validate_from = 1;
        cohort.scans = 100;
        o.test_subsets = {8, 9};
        o.prep.size = 512;
        o.prep.pixel_mm = 0.7;
        o.unet.unet = {3, 32, 5, true};
        o.unet.crop = 128;
        o.unet.run.epochs = 60;
        o.fpr.run.epochs = 40;
        o.fpr.net.width = 32;
        o.fpr_scans = 0;
        // Both detectors, the 3D one at full size: on the tuning cohort's thin-slice scans the pool held all 23
        // nodules and scored 0.888 against 0.758 for the best single detector (one seed, docs/model.md); a GPU
        // affords what the 2-core recipe cannot: the 1.5-mm grid (which found the small nodules that 2 mm missed on
        // thin slices), 16 filters and 64-voxel (96 mm) patches, twice the epochs and 2.7 times the patches of the
        // CPU recipe, and more hard-negative mining.
        o.detector = Detector::Pooled;
        o.grid3d.spacing_mm = 1.5;
        o.det3d.net = {1, 16, 4, true};
        o.det3d.patch = 64;
        o.det3d.run.batch = 8;
        o.det3d.run.epochs = 40;
        o.det3d.epoch_samples = 1024;
        o.det3d.hard_mining_patches = 64;
    }
    return o;
}

}  // namespace nodulecad
