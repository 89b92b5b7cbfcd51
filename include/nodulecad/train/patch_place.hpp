#pragma once
// Where a 3D training patch is read from a scan's lung box, and how it is seen (train/train_detector3d.cpp): flips
// per axis, an in-plane transpose, a zoom about the patch's centre and a contrast gain. The same map takes the image's
// voxels and the nodules' centres and diameters into the patch, so that its targets sit on what it shows. Plain C++.
#include <array>
#include <cstddef>
#include <cstdint>

namespace nodulecad {

// A box of uint8 voxels (x fastest), as the 3D dataset stores it; outside it every voxel reads 0 (-1000 HU).
struct BoxView {
    const std::uint8_t* voxels = nullptr;
    std::array<std::int64_t, 3> size{};  // x, y, z
    std::uint8_t at(std::int64_t i, std::int64_t j, std::int64_t k) const {
        if (i < 0 || j < 0 || k < 0 || i >= size[0] || j >= size[1] || k >= size[2]) return 0;
        return voxels[static_cast<std::size_t>(i + size[0] * (j + size[1] * k))];
    }
};

struct PatchPlace {
    std::size_t box = 0;
    std::array<std::int64_t, 3> origin{};  // the box voxel under patch voxel (0, 0, 0) at scale 1, before the symmetry
    std::array<bool, 3> flip{};            // per patch axis
    bool swap_xy = false;
    double scale = 1;     // box voxels per patch voxel, about the patch's centre: above 1 a nodule looks smaller
    double contrast = 1;  // gain on the [-1, 1] window about air (-1): below 1 a nodule looks fainter
};

// Patch voxel q (x, y, z) -> its position on the box, in (continuous) box voxels; and back.
std::array<double, 3> patch_to_box(const PatchPlace& p, int side, std::array<double, 3> q);
std::array<double, 3> box_to_patch(const PatchPlace& p, int side, std::array<double, 3> b);

// A nodule as the patch shows it: its centre in patch voxels and its diameter, zoomed with the patch (mm of the grid).
struct PatchNodule {
    std::array<double, 3> centre{};
    double diameter_mm = 0;
};
PatchNodule nodule_in_patch(const PatchPlace& p, int side, const std::array<double, 3>& index, double diameter_mm);

// The side^3 patch (x fastest) into `out`, each voxel v / 127.5 - 1 of the box, scaled by the contrast about -1:
// at scale 1 the box's voxels themselves, otherwise trilinear between them.
void sample_patch(const PatchPlace& p, int side, const BoxView& box, float* out);

}  // namespace nodulecad
