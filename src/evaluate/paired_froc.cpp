#include "nodulecad/evaluate/paired_froc.hpp"

#include <set>
#include <tuple>

#include "nodulecad/core/error.hpp"

namespace nodulecad {

namespace {

using NoduleKey = std::tuple<std::string, Vec3, double>;

NoduleKey key_of(const Annotation& n) { return {n.seriesuid, n.world, n.diameter_mm}; }

void check_groups(const std::vector<ComparisonGroup>& groups) {
    if (groups.empty()) throw Error("compare: no group of scans to compare on");
    std::set<std::string> seen;
    for (std::size_t g = 0; g < groups.size(); ++g) {
        if (groups[g].seriesuids.empty()) throw Error("compare: group " + std::to_string(g + 1) + " lists no scan");
        for (const auto& uid : groups[g].seriesuids)
            if (!seen.insert(uid).second)
                throw Error("compare: scan " + uid + " is listed twice (group " + std::to_string(g + 1) + "); a scan belongs to one group once");
    }
}

// Who finds which of the group's nodules: the scored nodules less each system's misses.
void tally_finders(const std::vector<Annotation>& annotations, const std::vector<std::string>& seriesuids, const FrocResult& a,
                   const FrocResult& b, PairedFroc& p) {
    std::set<NoduleKey> missed_a, missed_b;
    for (const auto& n : a.missed_nodules) missed_a.insert(key_of(n));
    for (const auto& n : b.missed_nodules) missed_b.insert(key_of(n));
    const std::set<std::string> listed(seriesuids.begin(), seriesuids.end());
    for (const auto& n : annotations) {
        if (!listed.count(n.seriesuid)) continue;
        const bool in_a = !missed_a.count(key_of(n)), in_b = !missed_b.count(key_of(n));
        if (in_a && in_b) ++p.found_by_both;
        else if (in_a) p.found_by_a_only.push_back(n);
        else if (in_b) p.found_by_b_only.push_back(n);
        else ++p.found_by_neither;
    }
}

}  // namespace

PairedFroc compare_froc(const std::vector<Annotation>& annotations, const std::vector<Annotation>& excluded,
                        const std::vector<ComparisonGroup>& groups, int samples, std::uint64_t seed, double confidence, int max_marks) {
    check_groups(groups);
    PairedFroc p;
    const double n_groups = static_cast<double>(groups.size());
    for (const auto& g : groups) {
        p.a.push_back(evaluate_froc(annotations, excluded, g.seriesuids, g.a, max_marks));
        p.b.push_back(evaluate_froc(annotations, excluded, g.seriesuids, g.b, max_marks));
        p.a_cpm += p.a.back().cpm / n_groups;
        p.b_cpm += p.b.back().cpm / n_groups;
        for (std::size_t k = 0; k < kFrocPoints.size(); ++k)
            p.sensitivity_difference[k] += (p.b.back().sensitivities[k] - p.a.back().sensitivities[k]) / n_groups;
        tally_finders(annotations, g.seriesuids, p.a.back(), p.b.back(), p);
    }
    p.difference = p.b_cpm - p.a_cpm;
    if (samples <= 0) return p;

    // Each resample draws every group's scan weights in the groups' order from one generator: with one group these
    // are bootstrap_froc's draws.
    p.samples = samples;
    std::vector<FrocResampler> ra, rb;
    std::vector<std::vector<double>> weights;
    for (std::size_t g = 0; g < groups.size(); ++g) {
        ra.emplace_back(p.a[g]);
        rb.emplace_back(p.b[g]);
        weights.emplace_back(p.a[g].per_scan.size());
    }
    Rng rng = froc_bootstrap_rng(seed);
    std::vector<double> ca(static_cast<std::size_t>(samples)), cb(ca.size()), diff(ca.size());
    std::int64_t higher = 0, equal = 0;
    for (std::size_t s = 0; s < ca.size(); ++s) {
        double sa = 0, sb = 0;
        for (std::size_t g = 0; g < groups.size(); ++g) {
            draw_scan_weights(rng, weights[g]);
            sa += cpm_of(ra[g].curve(weights[g]));
            sb += cpm_of(rb[g].curve(weights[g]));
        }
        ca[s] = sa / n_groups;
        cb[s] = sb / n_groups;
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

PairedFroc compare_froc(const std::vector<Annotation>& annotations, const std::vector<Annotation>& excluded,
                        const std::vector<std::string>& seriesuids, const std::vector<Candidate>& a, const std::vector<Candidate>& b,
                        int samples, std::uint64_t seed, double confidence, int max_marks) {
    return compare_froc(annotations, excluded, std::vector<ComparisonGroup>{{seriesuids, a, b}}, samples, seed, confidence, max_marks);
}

}  // namespace nodulecad
