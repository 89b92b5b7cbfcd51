// nodulecad synth: a synthetic chest-CT cohort in the LUNA16 layout, with exact truth.
#include <iostream>
#include <string>

#include "cli/commands.hpp"
#include "nodulecad/core/error.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/synth/cohort.hpp"

namespace nodulecad::cli {

namespace {

struct SynthArgs {
    std::string out;
    int scans = 10;
    std::uint64_t seed = 0;
    Preset preset = Preset::Demo;
    double flip_fraction = 0.1;
    double full_fraction = 0;
    ImageFormat format = ImageFormat::MetaImage;
    int threads = default_thread_count();
    std::string shard;
};

void run_synth(const SynthArgs& a) {
    CohortOptions o;
    o.out_dir = a.out;
    o.scans = a.scans;
    o.seed = a.seed;
    o.preset = a.preset;
    o.flip_fraction = a.flip_fraction;
    o.full_fraction = a.full_fraction;
    o.format = a.format;
    if (a.threads < 1) throw nodulecad::Error("--threads must be at least 1");
    o.threads = a.threads;
    o.shard = shard_for(a.shard);
    const CohortSummary s = write_cohort(o);
    if (!o.shard.all()) std::cerr << "shard " << o.shard.describe() << ": ";
    if (!s.tables)
        std::cerr << "wrote " << s.scans << " scans; " << s.pending << " wait for the other shards (the last to finish writes the tables)\n";
    else
        std::cerr << "wrote " << s.scans << " scans (" << s.flipped << " flipped), " << s.nodules << " nodules, " << s.excluded
              << " excluded findings to " << a.out << "\n";
}

}  // namespace

void register_synth(CLI::App& app) {
    auto args = std::make_shared<SynthArgs>();
    CLI::App* cmd = app.add_subcommand(
        "synth",
        "Generate a synthetic chest-CT cohort in the LUNA16 layout with exact ground truth:\n"
        "DIR/subset<k>/<uid>.mhd+.raw (MET_SHORT; or --format nifti / dicom), annotations.csv, annotations_excluded.csv, seriesuids.csv,\n"
        "truth/<uid>_lungs.mhd and truth/<uid>_nodules.mhd (uint8, zlib-compressed .zraw), manifest.json (every parameter).\n"
        "Scans hold body, fat, couch, spine, ribs, lungs with texture, heart, aorta, trachea and bronchi, branching\n"
        "vessels, nodules (solid, part-solid, ground-glass; juxtapleural and juxtavascular), partial volume, z blur,\n"
        "noise and scanner padding. Same seed and preset give byte-identical output for any thread count.");
    cmd->add_option("--out", args->out, "Output folder (created)")->required();
    cmd->add_option("--scans", args->scans, "Number of scans")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--seed", args->seed, "Random seed")->capture_default_str();
    add_enum_option(cmd, "--preset", args->preset, kPresetNames,
                    "small: 128x128 in-plane, ~3 mm slices (tests, CI); demo: 256x256, 2.5 mm slices;\n"
                    "full: LUNA16-like 512x512, 0.55-0.98 mm pixels, 0.625-2.5 mm slices");
    add_enum_option(cmd, "--format", args->format, kImageFormatNames,
                    "The scans as metaimage (<uid>.mhd + .raw), nifti (<uid>.nii.gz) or dicom (a CT series per scan,\n"
                    "subset<k>/<uid>/IM<nnnn>.dcm, SeriesInstanceUID = uid); the same voxels and world annotations");
    cmd->add_option("--flip-fraction", args->flip_fraction,
                    "Share of scans written with LUNA16's flipped TransformMatrix -1 0 0 0 -1 0 0 0 1")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--full-fraction", args->full_fraction,
                    "Share of scans drawn at the full preset instead of --preset (chosen by the seed): one cohort\n"
                    "mixing coarse and LUNA16-like thin-slice scans; each scan's preset is in manifest.json")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--threads", args->threads, "Worker threads")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--shard", args->shard,
                    "K/N: only scans K, K+N, ... of the generation order (K from 0), one of N jobs sharing --out; the last to\n"
                    "finish writes the tables (docs/distributed.md). Under torchrun/srun: the rank's shard");
    cmd->callback([args] { run_synth(*args); });
}

}  // namespace nodulecad::cli
