#pragma once
// Voxel grid geometry in ITK's convention:  world = origin + D * diag(spacing) * index
// where D's columns are the world directions of the index axes i, j, k (x fastest in memory).
// LUNA16 contains scans with D = diag(-1, -1, 1); code that ignores D puts nodules in the wrong place.
#include <array>
#include <cstdint>

namespace nodulecad {

using Vec3 = std::array<double, 3>;
// Row-major 3x3 matrix: m[3 * row + col].
using Mat3 = std::array<double, 9>;

constexpr Mat3 identity3() { return {1, 0, 0, 0, 1, 0, 0, 0, 1}; }

Mat3 multiply(const Mat3& a, const Mat3& b);
Vec3 multiply(const Mat3& m, const Vec3& v);
Mat3 transpose(const Mat3& m);
double determinant(const Mat3& m);
// Throws nodulecad::Error when |det| is tiny relative to the matrix scale (singular or nearly so).
Mat3 inverse(const Mat3& m);
// True when D^T D = I within tol.
bool is_orthonormal(const Mat3& m, double tol = 1e-6);

struct Geometry {
    std::array<std::int64_t, 3> size{1, 1, 1};  // voxels along i, j, k
    Vec3 spacing{1, 1, 1};                      // mm between voxel centres along i, j, k
    Vec3 origin{0, 0, 0};                       // world mm of voxel (0, 0, 0)'s centre
    Mat3 direction = identity3();               // columns: world direction of i, j, k

    std::int64_t voxel_count() const { return size[0] * size[1] * size[2]; }
    bool operator==(const Geometry& o) const {
        return size == o.size && spacing == o.spacing && origin == o.origin && direction == o.direction;
    }
    bool operator!=(const Geometry& o) const { return !(*this == o); }
};

// The same voxel grid, read from files that store geometry at different precisions (NIfTI-1 keeps float32, DICOM
// decimal strings of 16 characters, MetaImage what its writer printed): equal sizes, spacings within 1e-5 of their
// value, origins within 1e-3 of the smallest spacing (a thousandth of a voxel), directions within 1e-5. Masks and
// overlays are compared with this, never with ==, so a NIfTI scan and its MetaImage truth mask match.
bool same_grid(const Geometry& a, const Geometry& b);

// Throws nodulecad::Error naming `source` if sizes are not positive, spacing is not positive and finite,
// origin is not finite, or the direction matrix is singular.
void validate(const Geometry& g, const char* source);

// The affine map between continuous index and world, with both matrices computed once.
// Exact (to rounding) for any non-singular direction, not only orthonormal ones.
class IndexWorldTransform {
public:
    explicit IndexWorldTransform(const Geometry& g);
    Vec3 to_world(const Vec3& continuous_index) const;
    Vec3 to_index(const Vec3& world) const;
    const Mat3& index_to_world_matrix() const { return m_; }
    const Mat3& world_to_index_matrix() const { return inv_; }

private:
    Vec3 origin_;
    Mat3 m_;    // D * diag(spacing)
    Mat3 inv_;  // (D * diag(spacing))^-1
};

// Convenience one-shot versions (build the transform each call: use IndexWorldTransform in loops).
Vec3 index_to_world(const Geometry& g, const Vec3& continuous_index);
Vec3 world_to_index(const Geometry& g, const Vec3& world);

}  // namespace nodulecad
