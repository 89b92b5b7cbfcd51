#include "nodulecad/evaluate/segmentation_scores.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "nodulecad/core/error.hpp"

namespace nodulecad {

ScanSegScore score_segmentation(const std::string& uid, const Volume<std::uint8_t>& pred, const Volume<std::uint8_t>& ref) {
    if (!same_grid(pred.geometry, ref.geometry)) throw Error(uid + ": prediction and reference masks have different geometries");
    ScanSegScore s;
    s.uid = uid;
    const auto& g = ref.geometry;
    struct Box {
        std::int64_t lo[3] = {INT64_MAX, INT64_MAX, INT64_MAX}, hi[3] = {-1, -1, -1};
        double sum[3] = {0, 0, 0};
        std::int64_t n = 0;
    };
    std::map<int, Box> boxes;
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 0; i < g.size[0]; ++i) {
                const std::size_t n = ref.offset(i, j, k);
                const bool p = pred.voxels[n] != 0, r = ref.voxels[n] != 0;
                s.overlap.both += p && r;
                s.overlap.only_a += p && !r;
                s.overlap.only_b += !p && r;
                if (r) {
                    Box& b = boxes[ref.voxels[n]];
                    const std::int64_t idx[3] = {i, j, k};
                    for (int a = 0; a < 3; ++a) {
                        b.lo[a] = std::min(b.lo[a], idx[a]);
                        b.hi[a] = std::max(b.hi[a], idx[a]);
                        b.sum[a] += static_cast<double>(idx[a]);
                    }
                    ++b.n;
                }
            }
    for (const auto& [label, b] : boxes) {
        NoduleSegScore ns;
        ns.label = label;
        ns.voxels = b.n;
        ns.centre = index_to_world(g, {b.sum[0] / static_cast<double>(b.n), b.sum[1] / static_cast<double>(b.n), b.sum[2] / static_cast<double>(b.n)});
        std::int64_t lo[3], hi[3];
        for (int a = 0; a < 3; ++a) {
            const std::int64_t grow = std::max<std::int64_t>(1, (b.hi[a] - b.lo[a] + 1) / 2);
            lo[a] = std::max<std::int64_t>(0, b.lo[a] - grow);
            hi[a] = std::min<std::int64_t>(g.size[a] - 1, b.hi[a] + grow);
        }
        for (std::int64_t k = lo[2]; k <= hi[2]; ++k)
            for (std::int64_t j = lo[1]; j <= hi[1]; ++j)
                for (std::int64_t i = lo[0]; i <= hi[0]; ++i) {
                    const std::size_t n = ref.offset(i, j, k);
                    const bool p = pred.voxels[n] != 0, r = ref.voxels[n] == label;
                    if (ref.voxels[n] != 0 && !r) continue;  // another nodule's voxels are not this one's business
                    ns.overlap.both += p && r;
                    ns.overlap.only_a += p && !r;
                    ns.overlap.only_b += !p && r;
                }
        s.nodules.push_back(ns);
    }
    return s;
}

}  // namespace nodulecad
