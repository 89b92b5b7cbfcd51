#include "nodulecad/detect/fpr_score.hpp"

#include <map>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/progress.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/io/cohort_layout.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/model/fpr_net.hpp"
#include "nodulecad/model/unet.hpp"  // pick_device
#include "nodulecad/preprocess/fpr_patches.hpp"

namespace nodulecad {

void apply_fpr(std::vector<Candidate>& candidates, const FprApplyOptions& o) {
    const torch::Device device = pick_device(o.device);
    FprCard card;
    FprNet model = load_fpr_checkpoint(o.model, card, device);
    std::map<std::string, std::vector<std::size_t>> by_scan;
    for (std::size_t n = 0; n < candidates.size(); ++n) by_scan[candidates[n].seriesuid].push_back(n);
    std::map<std::string, ScanFile> scan_of;
    if (!by_scan.empty())
        for (const auto& s : find_scans(o.data)) scan_of[s.uid] = s;
    for (const auto& [uid, idx] : by_scan)
        if (!scan_of.count(uid)) fail(o.data, "no scan " + uid + " here for its candidates");

    const int D = card.patch.cube();
    const std::size_t cube_bytes = static_cast<std::size_t>(D) * static_cast<std::size_t>(D) * static_cast<std::size_t>(D);
    Progress progress("fpr", static_cast<std::int64_t>(candidates.size()), "candidates");
    std::vector<std::uint8_t> cubes;
    for (const auto& [uid, idx] : by_scan) {
        const Volume<std::int16_t> scan = read_scan(scan_of.at(uid));
        cubes.assign(idx.size() * cube_bytes, 0);
        parallel_for(static_cast<std::int64_t>(idx.size()), std::max(1, o.threads), [&](std::int64_t i) {
            extract_cube(scan, candidates[idx[static_cast<std::size_t>(i)]].world, card.patch, cubes.data() + static_cast<std::size_t>(i) * cube_bytes);
        });
        const std::vector<double> p = fpr_probabilities(model, cubes.data(), static_cast<std::int64_t>(idx.size()), card.patch, device, o.batch, o.symmetries > 0 ? o.symmetries : card.symmetries);
        for (std::size_t i = 0; i < idx.size(); ++i) {
            Candidate& c = candidates[idx[i]];
            c.probability = combine_probability(c.probability, p[i], o.combine);
        }
        progress.advance(static_cast<std::int64_t>(idx.size()));
    }
}

}  // namespace nodulecad
