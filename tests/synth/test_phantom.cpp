#include <gtest/gtest.h>

#include <cmath>

#include "nodulecad/core/math.hpp"
#include "nodulecad/synth/phantom.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

TEST(Phantom, NoduleSitsAtItsWorldPositionOnEveryDirection) {
    for (const auto& [name, d] : test::test_directions()) {
        SCOPED_TRACE(name);
        PhantomSpec spec;
        spec.geometry.size = {64, 64, 40};
        spec.geometry.spacing = {0.9, 0.9, 1.5};
        spec.geometry.origin = {-30, 25, -100};
        spec.geometry.direction = d;
        spec.nodule_diameter_mm = 9;
        const Phantom p = make_phantom(spec);
        const IndexWorldTransform t(spec.geometry);
        const Vec3 c = t.to_index(p.nodule_world);
        const auto at = [&](const Vec3& idx) {
            return p.scan.at(std::llround(idx[0]), std::llround(idx[1]), std::llround(idx[2]));
        };
        EXPECT_EQ(at(c), 40);  // nodule centre is solid tissue
        // 3 mm from the centre is inside the nodule; 8 mm away (along world x) is lung.
        EXPECT_EQ(at(t.to_index({p.nodule_world[0] + 3, p.nodule_world[1], p.nodule_world[2]})), 40);
        EXPECT_EQ(at(t.to_index({p.nodule_world[0] + 8, p.nodule_world[1], p.nodule_world[2]})), -850);
        // Corners of the field of view are air.
        EXPECT_EQ(p.scan.at(0, 0, 0), -1000);
        // Nodule volume matches a 9 mm sphere within 15%.
        std::int64_t inside = 0;
        for (std::int64_t k = 0; k < 40; ++k)
            for (std::int64_t j = 0; j < 64; ++j)
                for (std::int64_t i = 0; i < 64; ++i) {
                    const Vec3 w = t.to_world({double(i), double(j), double(k)});
                    const double r = std::hypot(w[0] - p.nodule_world[0], w[1] - p.nodule_world[1], w[2] - p.nodule_world[2]);
                    if (r < 6 && p.scan.at(i, j, k) == 40) ++inside;
                }
        const double expected = 4.0 / 3.0 * kPi * std::pow(4.5, 3) / (0.9 * 0.9 * 1.5);
        EXPECT_NEAR(static_cast<double>(inside), expected, 0.15 * expected);
    }
}

}  // namespace
}  // namespace nodulecad
