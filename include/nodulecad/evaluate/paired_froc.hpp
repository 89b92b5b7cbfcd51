#pragma once
// Two systems' candidates on the same scans, compared as the question "is B better than A?" needs: both scored by
// the official LUNA16 rules (froc.hpp), the CPM difference with a paired bootstrap interval (each resample of the
// scans scores both systems, so what the scans share cancels), and which nodules each finds that the other does
// not. With 20-30 nodules a CPM moves by 0.03-0.05 per nodule: a difference whose interval holds 0 is not one.
//
// Several groups (one per training seed, say: each seed's networks on its own held-out scans) are compared by the
// mean of their CPMs, each group scored on its own: pooling their scans into one FROC would rank one run's
// probabilities against another's, which are on scales of their own (a reduction's `product` against `replace`).
// The bootstrap then resamples scans within each group (stratified); the groups themselves are fixed, so the
// interval says how far the scans move the difference, and the groups' own differences show the seeds' swing.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "nodulecad/evaluate/froc.hpp"

namespace nodulecad {

// One group of scans and both systems' candidates on them (candidates on other scans are not counted).
struct ComparisonGroup {
    std::vector<std::string> seriesuids;
    std::vector<Candidate> a, b;
};

struct PairedFroc {
    std::vector<FrocResult> a, b;                   // each group's evaluations, in the groups' order
    double a_cpm = 0, b_cpm = 0;                    // the mean of the groups' CPMs (one group: its CPM)
    double difference = 0;                          // b_cpm - a_cpm
    std::array<double, 7> sensitivity_difference{};  // b - a at kFrocPoints, the mean over the groups
    // Bootstrap over each group's listed scans (bootstrap_froc's draws and seed, so with one group a_lo..b_hi are
    // the evaluation's own intervals): the difference's interval, each mean CPM's, and the share of resamples where
    // B scores above A / equal.
    int samples = 0;
    double lo = 0, hi = 0, a_lo = 0, a_hi = 0, b_lo = 0, b_hi = 0;
    double share_b_higher = 0, share_equal = 0;
    // Nodules among each system's candidates (a hit at any probability), by who finds them, over all groups.
    std::vector<Annotation> found_by_a_only, found_by_b_only;
    std::int64_t found_by_both = 0, found_by_neither = 0;
};

// Throws Error when there is no group, a group lists no scan, or a scan is listed by two groups.
PairedFroc compare_froc(const std::vector<Annotation>& annotations, const std::vector<Annotation>& excluded,
                        const std::vector<ComparisonGroup>& groups, int samples, std::uint64_t seed, double confidence = 0.95,
                        int max_marks = 100);

// One group: `seriesuids` and both systems' candidates on them.
PairedFroc compare_froc(const std::vector<Annotation>& annotations, const std::vector<Annotation>& excluded,
                        const std::vector<std::string>& seriesuids, const std::vector<Candidate>& a, const std::vector<Candidate>& b,
                        int samples, std::uint64_t seed, double confidence = 0.95, int max_marks = 100);

}  // namespace nodulecad
