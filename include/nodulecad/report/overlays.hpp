#pragma once
// Pictures of the slices a probability map marks: the scan in the lung window with the marked voxels tinted red,
// the seed's preds/*.jpg done with the scan visible. `predict --overlays` writes them.
#include <cstdint>
#include <string>
#include <vector>

#include "nodulecad/core/volume.hpp"

namespace nodulecad {

// OUT/<uid>_slice<k>.png for each axial slice k holding a marked voxel (non-zero in `marks`, on the scan's
// geometry), lowest k first, at most `max_slices`. Returns the files written.
std::vector<std::string> write_mark_overlays(const Volume<std::int16_t>& scan, const Volume<std::uint8_t>& marks, const std::string& out_dir,
                                             const std::string& uid, int max_slices = 50);

}  // namespace nodulecad
