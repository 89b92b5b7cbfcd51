#include "nodulecad/evaluate/froc.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "nodulecad/core/random.hpp"

namespace nodulecad {

FrocResult evaluate_froc(const std::vector<Annotation>& annotations, const std::vector<Annotation>& excluded,
                         const std::vector<std::string>& seriesuids, const std::vector<Candidate>& results, int max_marks) {
    FrocResult r;
    std::map<std::string, std::size_t> scan_of;
    for (const auto& uid : seriesuids)
        if (!scan_of.count(uid)) scan_of.emplace(uid, scan_of.size());
    r.scans = static_cast<std::int64_t>(scan_of.size());
    std::vector<std::vector<const Candidate*>> marks(scan_of.size());
    for (const auto& c : results) {
        const auto it = scan_of.find(c.seriesuid);
        if (it == scan_of.end()) ++r.marks_on_unlisted_scans;
        else marks[it->second].push_back(&c);
    }
    std::vector<std::vector<const Annotation*>> nodules(scan_of.size()), irrelevant(scan_of.size());
    for (const auto& a : annotations)
        if (const auto it = scan_of.find(a.seriesuid); it != scan_of.end()) nodules[it->second].push_back(&a);
    for (const auto& a : excluded)
        if (const auto it = scan_of.find(a.seriesuid); it != scan_of.end()) irrelevant[it->second].push_back(&a);

    r.per_scan.resize(scan_of.size());
    for (std::size_t s = 0; s < scan_of.size(); ++s) {
        std::vector<const Candidate*>& m = marks[s];
        // 1. At most max_marks: strictly above the (max_marks + 1)-th highest probability.
        if (max_marks > 0 && static_cast<int>(m.size()) > max_marks) {
            std::vector<double> p;
            for (const auto* c : m) p.push_back(c->probability);
            std::sort(p.begin(), p.end(), std::greater<>());
            const double threshold = p[static_cast<std::size_t>(max_marks)];
            std::vector<const Candidate*> kept;
            for (const auto* c : m)
                if (kept.size() < static_cast<std::size_t>(max_marks) && c->probability > threshold) kept.push_back(c);
            r.marks_dropped_by_cap += static_cast<std::int64_t>(m.size() - kept.size());
            m = kept;
        }
        std::vector<bool> pool(m.size(), true);
        auto& entries = r.per_scan[s];
        // 2-3. Reference nodules: every mark that hits counts (a mark may hit two nodules).
        for (const Annotation* a : nodules[s]) {
            ++r.nodules;
            int hits = 0;
            double best = -std::numeric_limits<double>::infinity();
            for (std::size_t i = 0; i < m.size(); ++i)
                if (luna16_hit(m[i]->world, *a)) {
                    ++hits;
                    best = std::max(best, m[i]->probability);
                    pool[i] = false;
                }
            if (hits > 1) r.double_detections += hits - 1;
            if (hits > 0) {
                ++r.detected;
                entries.push_back({best, true, false});
            } else {
                ++r.missed;
                r.missed_nodules.push_back(*a);
                entries.push_back({0.0, true, true});
            }
        }
        // 4. Excluded findings: marks still in the pool that hit one are ignored.
        for (const Annotation* a : irrelevant[s]) {
            for (std::size_t i = 0; i < m.size(); ++i)
                if (pool[i] && luna16_hit(m[i]->world, *a)) {
                    pool[i] = false;
                    ++r.ignored_on_excluded;
                }
        }
        // 5. The rest are false positives.
        for (std::size_t i = 0; i < m.size(); ++i)
            if (pool[i]) {
                ++r.false_positives;
                entries.push_back({m[i]->probability, false, false});
            }
    }
    std::vector<FrocEntry> all;
    for (const auto& e : r.per_scan) all.insert(all.end(), e.begin(), e.end());
    r.curve = froc_curve(all, r.scans);
    r.cpm = cpm_of(r.curve, &r.sensitivities);
    return r;
}

namespace {

// The official computeFROC on entries sorted by descending probability, each counted `weight` times (the bootstrap
// draws scans with replacement: a scan drawn twice weighs 2). Counts stay whole numbers, so the arithmetic is the
// same as on a pooled list.
FrocCurve curve_of_sorted(const std::vector<const FrocEntry*>& sorted, const std::vector<double>& weight, std::int64_t scans) {
    double total_lesions = 0, entries_total = 0;
    std::vector<double> tps, fpsc, thr;
    double tp = 0, fp = 0, local = 0;
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        const FrocEntry& e = *sorted[i];
        const double w = weight.empty() ? 1.0 : weight[i];
        entries_total += w;
        if (e.nodule) total_lesions += w;
        if (!e.excluded && w > 0) {
            (e.nodule ? tp : fp) += w;
            local += w;
        }
        // Close a threshold group at the last non-excluded entry of a probability value.
        std::size_t next = i + 1;
        while (next < sorted.size() && (sorted[next]->excluded || (!weight.empty() && weight[next] == 0))) ++next;
        const bool counted = !e.excluded && w > 0;
        if (counted && (next == sorted.size() || sorted[next]->probability != e.probability)) {
            tps.push_back(tp);
            fpsc.push_back(fp);
            thr.push_back(e.probability);
        }
    }
    // As sklearn: drop points collinear with both neighbours (second differences of both counts zero) when there
    // are more than two, then prepend the (0, 0) point.
    std::vector<double> t2{0}, f2{0}, h2{std::numeric_limits<double>::infinity()};
    for (std::size_t i = 0; i < tps.size(); ++i) {
        const bool end = tps.size() <= 2 || i == 0 || i + 1 == tps.size();
        if (end || (fpsc[i + 1] - 2 * fpsc[i] + fpsc[i - 1]) != 0 || (tps[i + 1] - 2 * tps[i] + tps[i - 1]) != 0) {
            t2.push_back(tps[i]);
            f2.push_back(fpsc[i]);
            h2.push_back(thr[i]);
        }
    }
    const double detected = tp, candidates = local;
    const bool no_false_positives = fp == 0 && total_lesions == entries_total;
    FrocCurve c;
    for (std::size_t i = 0; i < t2.size(); ++i) {
        const double fpr = f2.back() > 0 ? f2[i] / f2.back() : std::numeric_limits<double>::quiet_NaN();
        const double tpr = t2.back() > 0 ? t2[i] / t2.back() : std::numeric_limits<double>::quiet_NaN();
        c.fps.push_back(no_false_positives || f2.back() == 0 ? 0.0 : fpr * (candidates - detected) / static_cast<double>(scans));
        c.sensitivity.push_back(total_lesions > 0 && t2.back() > 0 ? (tpr * detected) / total_lesions : 0.0);
        c.threshold.push_back(h2[i]);
    }
    return c;
}

std::vector<const FrocEntry*> sorted_by_probability(const std::vector<const FrocEntry*>& entries) {
    std::vector<const FrocEntry*> s = entries;
    std::stable_sort(s.begin(), s.end(), [](const FrocEntry* a, const FrocEntry* b) { return a->probability > b->probability; });
    return s;
}

}  // namespace

FrocCurve froc_curve(const std::vector<FrocEntry>& entries, std::int64_t scans) {
    std::vector<const FrocEntry*> p;
    for (const auto& e : entries) p.push_back(&e);
    return curve_of_sorted(sorted_by_probability(p), {}, scans);
}

FrocResampler::FrocResampler(const FrocResult& r) : scans_(r.per_scan.size()) {
    std::vector<const FrocEntry*> all;
    std::map<const FrocEntry*, std::size_t> owner;
    for (std::size_t i = 0; i < r.per_scan.size(); ++i)
        for (const auto& e : r.per_scan[i]) {
            all.push_back(&e);
            owner[&e] = i;
        }
    sorted_ = sorted_by_probability(all);
    for (const auto* e : sorted_) scan_of_entry_.push_back(owner[e]);
    weight_.resize(sorted_.size());
}

FrocCurve FrocResampler::curve(const std::vector<double>& scan_weights) const {
    for (std::size_t e = 0; e < sorted_.size(); ++e) weight_[e] = scan_weights.at(scan_of_entry_[e]);
    return curve_of_sorted(sorted_, weight_, static_cast<std::int64_t>(scans_));
}

FrocCurve froc_curve_weighted(const FrocResult& r, const std::vector<double>& scan_weights) { return FrocResampler(r).curve(scan_weights); }

double cpm_of(const FrocCurve& c, std::array<double, 7>* sensitivities) {
    double sum = 0;
    for (std::size_t k = 0; k < kFrocPoints.size(); ++k) {
        const double s = interp(kFrocPoints[k], c.fps, c.sensitivity);
        if (sensitivities) (*sensitivities)[k] = s;
        sum += s;
    }
    return sum / static_cast<double>(kFrocPoints.size());
}

Rng froc_bootstrap_rng(std::uint64_t seed) { return Rng::derive(seed, {0xB007ULL}); }

double bootstrap_interval(std::vector<double> values, double confidence, double& lo, double& hi) {
    std::sort(values.begin(), values.end());
    const double pz = (1.0 - confidence) / 2.0;
    const auto n = static_cast<double>(values.size());
    lo = values[std::min(static_cast<std::size_t>(std::floor(pz * n)), values.size() - 1)];
    hi = values[std::min(static_cast<std::size_t>(std::floor((1.0 - pz) * n)), values.size() - 1)];
    return std::accumulate(values.begin(), values.end(), 0.0) / n;
}

void draw_scan_weights(Rng& rng, std::vector<double>& weights) {
    const std::size_t n = weights.size();
    std::fill(weights.begin(), weights.end(), 0.0);
    for (std::size_t i = 0; i < n; ++i) weights[static_cast<std::size_t>(rng.uniform() * static_cast<double>(n))] += 1;
}

double interp(double x, const std::vector<double>& xp, const std::vector<double>& fp) {
    const std::size_t n = xp.size();
    if (n == 0) return 0;
    if (x < xp[0]) return fp[0];
    if (x > xp[n - 1]) return fp[n - 1];
    // Last j with xp[j] <= x.
    const std::size_t j = static_cast<std::size_t>(std::upper_bound(xp.begin(), xp.end(), x) - xp.begin()) - 1;
    if (x == xp[j] || j + 1 >= n) return fp[j];
    const double slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    return slope * (x - xp[j]) + fp[j];
}

FrocBootstrap bootstrap_froc(const FrocResult& r, int samples, std::uint64_t seed, double confidence) {
    FrocBootstrap b;
    if (samples <= 0 || r.per_scan.empty()) return b;
    const std::size_t n = r.per_scan.size();
    const int grid = 200;
    for (int g = 0; g < grid; ++g) b.band_fps.push_back(0.125 * std::pow(64.0, static_cast<double>(g) / (grid - 1)));
    std::vector<std::array<double, 7>> points(static_cast<std::size_t>(samples));
    std::vector<double> cpms(static_cast<std::size_t>(samples));
    std::vector<std::vector<double>> band(static_cast<std::size_t>(grid), std::vector<double>(static_cast<std::size_t>(samples)));
    Rng rng = froc_bootstrap_rng(seed);
    const FrocResampler resampler(r);  // all entries sorted once; each resample only changes how often each scan counts
    std::vector<double> scan_weight(n);
    for (int s = 0; s < samples; ++s) {
        draw_scan_weights(rng, scan_weight);
        const FrocCurve c = resampler.curve(scan_weight);
        cpms[static_cast<std::size_t>(s)] = cpm_of(c, &points[static_cast<std::size_t>(s)]);
        for (int g = 0; g < grid; ++g) band[static_cast<std::size_t>(g)][static_cast<std::size_t>(s)] = interp(b.band_fps[static_cast<std::size_t>(g)], c.fps, c.sensitivity);
    }
    for (std::size_t k = 0; k < 7; ++k) {
        std::vector<double> v;
        for (const auto& p : points) v.push_back(p[k]);
        bootstrap_interval(v, confidence, b.lo[k], b.hi[k]);
    }
    bootstrap_interval(cpms, confidence, b.cpm_lo, b.cpm_hi);
    for (int g = 0; g < grid; ++g) {
        double lo, hi;
        b.band_mean.push_back(bootstrap_interval(band[static_cast<std::size_t>(g)], confidence, lo, hi));
        b.band_lo.push_back(lo);
        b.band_hi.push_back(hi);
    }
    return b;
}

}  // namespace nodulecad
