#pragma once
// LUNA16 FROC / CPM exactly as the official evaluation defines it (../shared/reference/luna16-evaluation.md):
// 100-mark cap per scan (strictly above the 101st probability), hits by squared distance < (d/2)^2, excluded
// findings with d < 0 as 10 mm, reference nodules before excluded findings, double detections neither TP nor FP,
// a mark may count for two nodules, marks on scans outside the list ignored, FPs divided by all listed scans,
// misses in the sensitivity denominator, the ROC over entries with ties together and collinear points dropped,
// sensitivities at 1/8..8 FPs/scan by np.interp semantics, CPM = their mean. Bootstrap over scans, seeded.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "nodulecad/core/random.hpp"
#include "nodulecad/io/tables.hpp"

namespace nodulecad {

constexpr std::array<double, 7> kFrocPoints{0.125, 0.25, 0.5, 1, 2, 4, 8};

// The evaluation's entries, grouped by listed scan so the bootstrap can resample scans.
struct FrocEntry {
    double probability;
    bool nodule;    // 1 = detected (or missed) reference nodule, 0 = false positive
    bool excluded;  // missed nodules: counted in the denominator, not on the curve
};

struct FrocCurve {
    std::vector<double> fps, sensitivity, threshold;  // threshold +inf for the (0, 0) point
};

struct FrocResult {
    FrocCurve curve;
    std::array<double, 7> sensitivities{};
    double cpm = 0;
    std::int64_t scans = 0, nodules = 0, detected = 0, false_positives = 0, missed = 0, double_detections = 0,
                 ignored_on_excluded = 0, marks_dropped_by_cap = 0, marks_on_unlisted_scans = 0;
    std::vector<Annotation> missed_nodules;
    std::vector<std::vector<FrocEntry>> per_scan;  // for the bootstrap
};

FrocResult evaluate_froc(const std::vector<Annotation>& annotations, const std::vector<Annotation>& excluded,
                         const std::vector<std::string>& seriesuids, const std::vector<Candidate>& results, int max_marks = 100);

// Curve of pooled entries over `scans` listed scans (the official computeFROC).
FrocCurve froc_curve(const std::vector<FrocEntry>& entries, std::int64_t scans);

// The curve with listed scan i counted scan_weights[i] times (a bootstrap resample), without pooling copies.
FrocCurve froc_curve_weighted(const FrocResult& r, const std::vector<double>& scan_weights);

// A result's entries sorted once, for its curve under many scan weightings (bootstrap resamples). Holds pointers
// into `r`, which must outlive it; one resampler serves one thread (curve() fills a buffer it keeps).
class FrocResampler {
public:
    explicit FrocResampler(const FrocResult& r);
    FrocCurve curve(const std::vector<double>& scan_weights) const;  // as froc_curve_weighted

private:
    std::vector<const FrocEntry*> sorted_;
    std::vector<std::size_t> scan_of_entry_;
    std::size_t scans_ = 0;
    mutable std::vector<double> weight_;
};

// The CPM of a curve: the mean of its sensitivities at kFrocPoints.
double cpm_of(const FrocCurve& c, std::array<double, 7>* sensitivities = nullptr);

// The bootstrap's draws: as many scans as `weights` holds, with replacement, as a count per scan, from the
// generator froc_bootstrap_rng(seed) gives. bootstrap_froc and compare_froc both draw so, so a comparison's
// resamples are the evaluation's.
Rng froc_bootstrap_rng(std::uint64_t seed);
void draw_scan_weights(Rng& rng, std::vector<double>& weights);

// A bootstrap statistic's interval: the order statistics floor(p n) and floor((1 - p) n) of the sorted values,
// p = (1 - confidence) / 2, as the official script takes them. Returns the values' mean. `values` not empty.
double bootstrap_interval(std::vector<double> values, double confidence, double& lo, double& hi);

// np.interp(x, xp, fp): the last index with xp <= x; x equal to it gives its value; flat outside the range.
double interp(double x, const std::vector<double>& xp, const std::vector<double>& fp);

struct FrocBootstrap {
    std::array<double, 7> lo{}, hi{};
    double cpm_lo = 0, cpm_hi = 0;
    std::vector<double> band_fps, band_mean, band_lo, band_hi;  // on a log grid from 1/8 to 8, for plots
};

// Resamples the listed scans with replacement `samples` times (seeded); 95 % intervals as order statistics
// floor(0.025 n) and floor(0.975 n) of the sorted values, as the official script takes them.
FrocBootstrap bootstrap_froc(const FrocResult& r, int samples, std::uint64_t seed, double confidence = 0.95);

}  // namespace nodulecad
