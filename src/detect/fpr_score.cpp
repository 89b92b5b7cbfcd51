#include "nodulecad/detect/fpr_score.hpp"

#include <map>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/progress.hpp"
#include "nodulecad/core/stopwatch.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/io/cohort_layout.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/model/fpr_net.hpp"
#include "nodulecad/model/run_mode.hpp"
#include "nodulecad/model/unet.hpp"  // pick_device
#include "nodulecad/preprocess/fpr_patches.hpp"

namespace nodulecad {

struct FprScorer::Impl {
    FprApplyOptions o;
    torch::Device device = torch::kCPU;
    FprCard card;
    FprNet model{nullptr};
    double network_seconds = 0;
};

FprScorer::FprScorer(const FprApplyOptions& o) : impl_(std::make_unique<Impl>()) {
    impl_->o = o;
    impl_->device = pick_device(o.device);
    impl_->model = load_fpr_checkpoint(o.model, impl_->card, impl_->device);
}

FprScorer::~FprScorer() = default;

double FprScorer::network_seconds() const { return impl_->network_seconds; }

int FprScorer::symmetries() const { return impl_->o.symmetries > 0 ? impl_->o.symmetries : impl_->card.symmetries; }

void FprScorer::rescore(std::vector<Candidate>& candidates, const std::vector<std::size_t>& idx, const Volume<std::int16_t>& scan) const {
    // Set here, not once: a network trained in the same process (run) may have turned the search on since. The
    // last batch of candidates is a remainder whose size changes from scan to scan.
    set_cudnn_autotune(impl_->device, ShapeRegime::Varying);
    const PatchOptions& patch = impl_->card.patch;
    const int D = patch.cube();
    const std::size_t cube_bytes = static_cast<std::size_t>(D) * static_cast<std::size_t>(D) * static_cast<std::size_t>(D);
    std::vector<std::uint8_t> cubes(idx.size() * cube_bytes, 0);
    parallel_for(static_cast<std::int64_t>(idx.size()), std::max(1, impl_->o.threads), [&](std::int64_t i) {
        extract_cube(scan, candidates[idx[static_cast<std::size_t>(i)]].world, patch, cubes.data() + static_cast<std::size_t>(i) * cube_bytes);
    });
    const Stopwatch network;
    const std::vector<double> p =
        fpr_probabilities(impl_->model, cubes.data(), static_cast<std::int64_t>(idx.size()), patch, impl_->device, impl_->o.batch, symmetries(),
                          std::max(1, impl_->o.threads));
    impl_->network_seconds += network.seconds();
    for (std::size_t i = 0; i < idx.size(); ++i) {
        Candidate& c = candidates[idx[i]];
        c.probability = combine_probability(c.probability, p[i], impl_->o.combine);
    }
}

void apply_fpr(std::vector<Candidate>& candidates, const FprApplyOptions& o) {
    const FprScorer scorer(o);
    std::map<std::string, std::vector<std::size_t>> by_scan;
    for (std::size_t n = 0; n < candidates.size(); ++n) by_scan[candidates[n].seriesuid].push_back(n);
    std::map<std::string, ScanFile> scan_of;
    if (!by_scan.empty())
        for (const auto& s : find_scans(o.data)) scan_of[s.uid] = s;
    for (const auto& [uid, idx] : by_scan)
        if (!scan_of.count(uid)) fail(o.data, "no scan " + uid + " here for its candidates");
    Progress progress("fpr", static_cast<std::int64_t>(candidates.size()), "candidates");
    for (const auto& [uid, idx] : by_scan) {
        scorer.rescore(candidates, idx, read_scan(scan_of.at(uid)));
        progress.advance(static_cast<std::int64_t>(idx.size()));
    }
}

}  // namespace nodulecad
