#pragma once
// The demo's quick configuration with the 2D U-Net on a freshly generated cohort, for the pipeline's tests.
#include "nodulecad/pipeline/recipes.hpp"
#include "nodulecad/synth/cohort.hpp"
#include "test_util.hpp"

namespace nodulecad::test {

// `scans` small scans (seed 4) under DIR/cohort, the work folder DIR/work, CPU, 2 threads.
inline PipelineOptions quick_pipeline(const TempDir& dir, int scans, ImageFormat format = ImageFormat::MetaImage) {
    CohortOptions cohort;
    PipelineOptions o = demo_pipeline_options(DemoSize::Quick, cohort);
    o.detector = Detector::UNet2d;  // the seed's pipeline; tests of the 3D one set heatmap3d
    cohort.format = format;
    cohort.out_dir = dir.path("cohort");
    cohort.scans = scans;
    cohort.seed = 4;
    cohort.threads = 2;
    write_cohort(cohort);
    o.data_dir = cohort.out_dir;
    o.work_dir = dir.path("work");
    o.device = "cpu";
    o.threads = 2;
    return o;
}

}  // namespace nodulecad::test
