#include "nodulecad/core/nonzero_box.hpp"

#include <algorithm>
#include <vector>

#include "nodulecad/core/threads.hpp"

namespace nodulecad {

IndexBox nonzero_box(const Volume<std::uint8_t>& mask, int threads) {
    const auto& n = mask.geometry.size;
    // Each slice's box first (its own entry, so any thread count gives the same), then over the slices.
    std::vector<IndexBox> slices(static_cast<std::size_t>(n[2]));
    parallel_for(n[2], threads, [&](std::int64_t k) {
        IndexBox& s = slices[static_cast<std::size_t>(k)];
        s.lo = {n[0], n[1], k};
        s.hi = {0, 0, k + 1};
        const std::uint8_t* plane = mask.voxels.data() + static_cast<std::size_t>(k * n[0] * n[1]);
        for (std::int64_t j = 0; j < n[1]; ++j) {
            const std::uint8_t* row = plane + j * n[0];
            std::int64_t first = 0, last = n[0] - 1;
            while (first < n[0] && !row[first]) ++first;
            if (first == n[0]) continue;
            while (!row[last]) --last;
            s.lo[0] = std::min(s.lo[0], first);
            s.hi[0] = std::max(s.hi[0], last + 1);
            s.lo[1] = std::min(s.lo[1], j);
            s.hi[1] = j + 1;
        }
    });
    IndexBox box;
    box.lo = {n[0], n[1], n[2]};
    box.hi = {0, 0, 0};
    for (const IndexBox& s : slices) {
        if (s.empty()) continue;  // nothing on this slice
        for (std::size_t a = 0; a < 3; ++a) {
            box.lo[a] = std::min(box.lo[a], s.lo[a]);
            box.hi[a] = std::max(box.hi[a], s.hi[a]);
        }
    }
    if (box.empty()) box = IndexBox{};
    return box;
}

}  // namespace nodulecad
