#include "nodulecad/core/geometry.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "nodulecad/core/error.hpp"

namespace nodulecad {

Mat3 multiply(const Mat3& a, const Mat3& b) {
    Mat3 r{};
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) {
            double s = 0;
            for (int k = 0; k < 3; ++k) s += a[3 * i + k] * b[3 * k + j];
            r[3 * i + j] = s;
        }
    return r;
}

Vec3 multiply(const Mat3& m, const Vec3& v) {
    return {m[0] * v[0] + m[1] * v[1] + m[2] * v[2], m[3] * v[0] + m[4] * v[1] + m[5] * v[2],
            m[6] * v[0] + m[7] * v[1] + m[8] * v[2]};
}

Mat3 transpose(const Mat3& m) { return {m[0], m[3], m[6], m[1], m[4], m[7], m[2], m[5], m[8]}; }

double determinant(const Mat3& m) {
    return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
           m[2] * (m[3] * m[7] - m[4] * m[6]);
}

Mat3 inverse(const Mat3& m) {
    double scale = 0;
    for (double v : m) scale = std::fmax(scale, std::fabs(v));
    const double det = determinant(m);
    if (!(scale > 0) || !std::isfinite(det) || std::fabs(det) <= 1e-12 * scale * scale * scale)
        throw Error("matrix is singular (determinant " + std::to_string(det) + ")");
    const double f = 1.0 / det;
    return {(m[4] * m[8] - m[5] * m[7]) * f, (m[2] * m[7] - m[1] * m[8]) * f, (m[1] * m[5] - m[2] * m[4]) * f,
            (m[5] * m[6] - m[3] * m[8]) * f, (m[0] * m[8] - m[2] * m[6]) * f, (m[2] * m[3] - m[0] * m[5]) * f,
            (m[3] * m[7] - m[4] * m[6]) * f, (m[1] * m[6] - m[0] * m[7]) * f, (m[0] * m[4] - m[1] * m[3]) * f};
}

bool is_orthonormal(const Mat3& m, double tol) {
    const Mat3 p = multiply(transpose(m), m);
    const Mat3 id = identity3();
    for (int i = 0; i < 9; ++i)
        if (std::fabs(p[i] - id[i]) > tol) return false;
    return true;
}

bool same_grid(const Geometry& a, const Geometry& b) {
    if (a.size != b.size) return false;
    const double min_spacing = std::min({std::abs(a.spacing[0]), std::abs(a.spacing[1]), std::abs(a.spacing[2])});
    for (int i = 0; i < 3; ++i) {
        if (!(std::abs(a.spacing[i] - b.spacing[i]) <= 1e-5 * std::abs(a.spacing[i]))) return false;
        if (!(std::abs(a.origin[i] - b.origin[i]) <= 1e-3 * min_spacing)) return false;
    }
    for (int i = 0; i < 9; ++i)
        if (!(std::abs(a.direction[i] - b.direction[i]) <= 1e-5)) return false;
    return true;
}

void validate(const Geometry& g, const char* source) {
    static const char* axis = "ijk";
    for (int a = 0; a < 3; ++a) {
        if (g.size[a] <= 0)
            fail(source, std::string("size along ") + axis[a] + " is " + std::to_string(g.size[a]) +
                             ", must be positive");
        if (!std::isfinite(g.spacing[a]) || !(g.spacing[a] > 0))
            fail(source, std::string("spacing along ") + axis[a] + " is " + std::to_string(g.spacing[a]) +
                             ", must be positive and finite");
        if (!std::isfinite(g.origin[a])) fail(source, "origin is not finite");
    }
    for (double v : g.direction)
        if (!std::isfinite(v)) fail(source, "direction matrix has a non-finite entry");
    try {
        (void)inverse(g.direction);
    } catch (const Error& e) {
        fail(source, std::string("direction ") + e.what());
    }
}

IndexWorldTransform::IndexWorldTransform(const Geometry& g) : origin_(g.origin) {
    const Mat3 s{g.spacing[0], 0, 0, 0, g.spacing[1], 0, 0, 0, g.spacing[2]};
    m_ = multiply(g.direction, s);
    inv_ = inverse(m_);
}

Vec3 IndexWorldTransform::to_world(const Vec3& idx) const {
    const Vec3 d = multiply(m_, idx);
    return {origin_[0] + d[0], origin_[1] + d[1], origin_[2] + d[2]};
}

Vec3 IndexWorldTransform::to_index(const Vec3& w) const {
    return multiply(inv_, Vec3{w[0] - origin_[0], w[1] - origin_[1], w[2] - origin_[2]});
}

Vec3 index_to_world(const Geometry& g, const Vec3& idx) { return IndexWorldTransform(g).to_world(idx); }
Vec3 world_to_index(const Geometry& g, const Vec3& w) { return IndexWorldTransform(g).to_index(w); }

}  // namespace nodulecad
