#include "nodulecad/evaluate/overlap.hpp"

#include "nodulecad/core/error.hpp"

namespace nodulecad {

Overlap overlap(const Volume<std::uint8_t>& a, const Volume<std::uint8_t>& b) {
    if (!same_grid(a.geometry, b.geometry)) throw Error("masks to compare have different geometries");
    Overlap o;
    for (std::size_t n = 0; n < a.voxels.size(); ++n) {
        const bool x = a.voxels[n] != 0, y = b.voxels[n] != 0;
        o.both += x && y;
        o.only_a += x && !y;
        o.only_b += !x && y;
    }
    return o;
}

}  // namespace nodulecad
