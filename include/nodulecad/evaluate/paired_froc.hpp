#pragma once
// Two systems' candidates on the same scans, compared as the question "is B better than A?" needs: both scored by
// the official LUNA16 rules (froc.hpp), the CPM difference with a paired bootstrap interval (each resample of the
// scans scores both systems, so what the scans share cancels), and which nodules each finds that the other does
// not. With 20-30 nodules a CPM moves by 0.03-0.05 per nodule: a difference whose interval holds 0 is not one.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "nodulecad/evaluate/froc.hpp"

namespace nodulecad {

struct PairedFroc {
    FrocResult a, b;
    double difference = 0;                          // b.cpm - a.cpm
    std::array<double, 7> sensitivity_difference{};  // b - a at kFrocPoints
    // Bootstrap over the listed scans (bootstrap_froc's draws and seed, so a_lo..b_hi are the evaluations' own
    // intervals): the difference's interval, each CPM's, and the share of resamples where B scores above A / equal.
    int samples = 0;
    double lo = 0, hi = 0, a_lo = 0, a_hi = 0, b_lo = 0, b_hi = 0;
    double share_b_higher = 0, share_equal = 0;
    // Nodules among each system's candidates (a hit at any probability), by who finds them.
    std::vector<Annotation> found_by_a_only, found_by_b_only;
    std::int64_t found_by_both = 0, found_by_neither = 0;
};

PairedFroc compare_froc(const std::vector<Annotation>& annotations, const std::vector<Annotation>& excluded,
                        const std::vector<std::string>& seriesuids, const std::vector<Candidate>& a, const std::vector<Candidate>& b,
                        int samples, std::uint64_t seed, double confidence = 0.95, int max_marks = 100);

}  // namespace nodulecad
