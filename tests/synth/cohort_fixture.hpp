#pragma once
// Options for a small synthetic cohort, shared by the tests that need one on disk.
#include <cstdint>
#include <string>

#include "nodulecad/synth/cohort.hpp"

namespace nodulecad::test {

inline CohortOptions small_cohort(const std::string& dir, int scans, std::uint64_t seed, double flip_fraction, int threads) {
    CohortOptions o;
    o.out_dir = dir;
    o.scans = scans;
    o.seed = seed;
    o.preset = Preset::Small;
    o.flip_fraction = flip_fraction;
    o.threads = threads;
    return o;
}

}  // namespace nodulecad::test
