#pragma once
// The pipeline's recipes: the defaults `run` uses on a 2-core CPU, and `demo`'s configurations with the synthetic
// cohort each runs on (docs/pipeline.md says how they were chosen and on which figures).
#include "nodulecad/pipeline/pipeline.hpp"
#include "nodulecad/synth/cohort.hpp"

namespace nodulecad {

PipelineOptions cpu_pipeline_defaults();

// The U-Net's slice context: K slices above and below each slice in the preprocessed samples, and the 2K+1 input
// channels the U-Net then takes (its stage key records them).
void set_unet_context(PipelineOptions& o, int context);

// Which weights the false-positive reduction keeps, and from which epoch it validates: final validates after the
// last epoch only (for the record: nothing is chosen), best-validation from the second half of its epochs (under the
// cosine learning rate the first half never held the best weights). Call after setting its epochs.
void set_fpr_keep(PipelineOptions& o, KeepWeights keep);

// The share of training patients held out as the U-Net's validation patients. With none (0) there is nothing to
// choose an epoch by, so the U-Net keeps its final epoch's weights.
void set_unet_val_fraction(PipelineOptions& o, double fraction);

// The U-Net's grid pixel in mm, its slices keeping their field of view: the size grows as the pixel shrinks (rounded
// up to a multiple of 16 so that every level of the network halves evenly). The crops it trains on keep their pixels,
// so its training costs the same; whole slices (validation, prediction) cost the ratio of the areas more.
void set_unet_pixel_mm(PipelineOptions& o, double pixel_mm);

// Quick: 6 small scans, 1 epoch — the machinery in a minute, for tests. Cpu: 100 demo-preset scans, 20 held out,
// under 15 minutes on 2 cores. Cuda: 100 full-size scans, the seed's 32-filter U-Net on 512 px slices pooled with a
// full-size 3D detector (1.5 mm grid, 16 filters, 64-voxel patches).
enum class DemoSize { Quick, Cpu, Cuda };
PipelineOptions demo_pipeline_options(DemoSize size, CohortOptions& cohort);

}  // namespace nodulecad
