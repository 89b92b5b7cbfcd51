// scan_summary SCAN.mhd [ANNOTATIONS.csv SERIESUIDS.csv RESULTS.csv]
// Reads a scan and prints its geometry and where its centre voxel lies in world millimetres; given the three LUNA16
// tables, also scores the results as the official evaluator does and prints the CPM. An example of embedding
// nodulecad::core in a C++ tool.
#include <cstdio>
#include <exception>

#include "nodulecad/core/geometry.hpp"
#include "nodulecad/evaluate/froc.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/io/tables.hpp"
#include "nodulecad/version.hpp"

int main(int argc, char** argv) {
    if (argc != 2 && argc != 5) {
        std::fprintf(stderr, "usage: %s SCAN.mhd [ANNOTATIONS.csv SERIESUIDS.csv RESULTS.csv]\n", argv[0]);
        return 2;
    }
    try {
        const nodulecad::MetaImageHeader h = nodulecad::read_metaimage_header(argv[1]);
        const nodulecad::Geometry& g = h.geometry;
        std::printf("nodulecad %s\n", nodulecad::version());
        std::printf("size %lld %lld %lld\n", static_cast<long long>(g.size[0]), static_cast<long long>(g.size[1]), static_cast<long long>(g.size[2]));
        std::printf("spacing %g %g %g\n", g.spacing[0], g.spacing[1], g.spacing[2]);
        std::printf("origin %g %g %g\n", g.origin[0], g.origin[1], g.origin[2]);
        std::printf("direction");
        for (double d : g.direction) std::printf(" %g", d);
        std::printf("\n");
        const nodulecad::Vec3 centre = nodulecad::index_to_world(
            g, {(static_cast<double>(g.size[0]) - 1) / 2, (static_cast<double>(g.size[1]) - 1) / 2, (static_cast<double>(g.size[2]) - 1) / 2});
        std::printf("centre %.4f %.4f %.4f\n", centre[0], centre[1], centre[2]);
        if (argc == 5) {
            const nodulecad::FrocResult r = nodulecad::evaluate_froc(nodulecad::read_annotations(argv[2]), {}, nodulecad::read_seriesuids(argv[3]),
                                                                     nodulecad::read_results(argv[4]));
            std::printf("CPM %.4f\n", r.cpm);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "scan_summary: %s\n", e.what());
        return 1;
    }
    return 0;
}
