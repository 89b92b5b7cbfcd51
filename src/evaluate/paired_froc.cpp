#include "nodulecad/evaluate/paired_froc.hpp"

#include <set>
#include <tuple>

namespace nodulecad {

namespace {

using NoduleKey = std::tuple<std::string, Vec3, double>;

NoduleKey key_of(const Annotation& n) { return {n.seriesuid, n.world, n.diameter_mm}; }

}  // namespace

PairedFroc compare_froc(const std::vector<Annotation>& annotations, const std::vector<Annotation>& excluded,
                        const std::vector<std::string>& seriesuids, const std::vector<Candidate>& a, const std::vector<Candidate>& b,
                        int samples, std::uint64_t seed, double confidence, int max_marks) {
    PairedFroc p;
    p.a = evaluate_froc(annotations, excluded, seriesuids, a, max_marks);
    p.b = evaluate_froc(annotations, excluded, seriesuids, b, max_marks);
    p.difference = p.b.cpm - p.a.cpm;
    for (std::size_t k = 0; k < kFrocPoints.size(); ++k) p.sensitivity_difference[k] = p.b.sensitivities[k] - p.a.sensitivities[k];

    // Who finds which nodule: the scored nodules less each system's misses.
    std::set<NoduleKey> missed_a, missed_b;
    for (const auto& n : p.a.missed_nodules) missed_a.insert(key_of(n));
    for (const auto& n : p.b.missed_nodules) missed_b.insert(key_of(n));
    std::set<std::string> listed(seriesuids.begin(), seriesuids.end());
    for (const auto& n : annotations) {
        if (!listed.count(n.seriesuid)) continue;
        const bool in_a = !missed_a.count(key_of(n)), in_b = !missed_b.count(key_of(n));
        if (in_a && in_b) ++p.found_by_both;
        else if (in_a) p.found_by_a_only.push_back(n);
        else if (in_b) p.found_by_b_only.push_back(n);
        else ++p.found_by_neither;
    }

    if (samples <= 0 || p.a.per_scan.empty()) return p;
    p.samples = samples;
    const FrocResampler ra(p.a), rb(p.b);
    Rng rng = froc_bootstrap_rng(seed);
    std::vector<double> weights(p.a.per_scan.size()), ca(static_cast<std::size_t>(samples)), cb(ca.size()), diff(ca.size());
    std::int64_t higher = 0, equal = 0;
    for (std::size_t s = 0; s < ca.size(); ++s) {
        draw_scan_weights(rng, weights);
        ca[s] = cpm_of(ra.curve(weights));
        cb[s] = cpm_of(rb.curve(weights));
        diff[s] = cb[s] - ca[s];
        higher += diff[s] > 0 ? 1 : 0;
        equal += diff[s] == 0 ? 1 : 0;
    }
    bootstrap_interval(diff, confidence, p.lo, p.hi);
    bootstrap_interval(ca, confidence, p.a_lo, p.a_hi);
    bootstrap_interval(cb, confidence, p.b_lo, p.b_hi);
    p.share_b_higher = static_cast<double>(higher) / static_cast<double>(samples);
    p.share_equal = static_cast<double>(equal) / static_cast<double>(samples);
    return p;
}

}  // namespace nodulecad
