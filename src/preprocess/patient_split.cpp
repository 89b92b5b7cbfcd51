#include "nodulecad/preprocess/patient_split.hpp"

#include <algorithm>
#include <cmath>

#include "nodulecad/core/random.hpp"

namespace nodulecad {

std::set<std::string> validation_uids(const std::vector<ScanFile>& scans, double fraction, const std::vector<int>& subsets,
                                      std::uint64_t seed) {
    std::set<std::string> val;
    if (!subsets.empty()) {
        for (const auto& e : scans)
            if (std::find(subsets.begin(), subsets.end(), e.subset) != subsets.end()) val.insert(e.uid);
        return val;
    }
    const std::vector<ScanFile> order = validation_order(scans, seed);
    const auto n_val = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(scans.size())));
    for (std::size_t n = 0; n < n_val && n < order.size(); ++n) val.insert(order[n].uid);
    return val;
}

std::vector<ScanFile> validation_order(const std::vector<ScanFile>& scans, std::uint64_t seed) {
    std::vector<ScanFile> order = scans;
    std::stable_sort(order.begin(), order.end(), [&](const ScanFile& a, const ScanFile& b) {
        const std::uint64_t ha = mix64(seed ^ hash_string(a.uid)), hb = mix64(seed ^ hash_string(b.uid));
        return ha != hb ? ha < hb : a.uid < b.uid;
    });
    return order;
}

}  // namespace nodulecad
