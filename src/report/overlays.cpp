#include "nodulecad/report/overlays.hpp"

#include <algorithm>
#include <filesystem>

#include "nodulecad/core/error.hpp"
#include "nodulecad/io/png.hpp"
#include "nodulecad/report/slice_view.hpp"

namespace nodulecad {

std::vector<std::string> write_mark_overlays(const Volume<std::int16_t>& scan, const Volume<std::uint8_t>& marks, const std::string& out_dir,
                                             const std::string& uid, int max_slices) {
    const Geometry& g = scan.geometry;
    if (!same_grid(marks.geometry, g)) throw Error(uid + ": the marks are not on the scan's geometry");
    const std::size_t plane = static_cast<std::size_t>(g.size[0] * g.size[1]);
    std::vector<std::string> written;
    for (std::int64_t k = 0; k < g.size[2] && static_cast<int>(written.size()) < max_slices; ++k) {
        const auto first = marks.voxels.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(k) * plane);
        if (std::none_of(first, first + static_cast<std::ptrdiff_t>(plane), [](std::uint8_t v) { return v != 0; })) continue;
        SliceViewOptions v;
        v.world_point = index_to_world(g, {(static_cast<double>(g.size[0]) - 1) / 2, (static_cast<double>(g.size[1]) - 1) / 2, static_cast<double>(k)});
        v.overlay = &marks;
        const std::string path = (std::filesystem::path(out_dir) / (uid + "_slice" + std::to_string(k) + ".png")).string();
        write_png(path, render_slice_view(scan, v));
        written.push_back(path);
    }
    return written;
}

}  // namespace nodulecad
