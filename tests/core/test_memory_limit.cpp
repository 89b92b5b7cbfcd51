// --max-memory-gb: the need a command's model gives a scan, and the readers refusing before they allocate.
#include <gtest/gtest.h>

#include <string>

#include "io/metaimage_fixtures.hpp"
#include "nodulecad/core/files.hpp"
#include "nodulecad/core/memory_limit.hpp"
#include "nodulecad/io/image_file.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

constexpr double kGB = 1073741824.0;

// Puts the process-wide limit back when a test ends, whatever it did.
struct LimitGuard {
    ~LimitGuard() { set_memory_limit(0, {}); }
};

TEST(MemoryLimit, NeedIsFixedPlusPerVoxelTimesScansAtOnce) {
    LimitGuard guard;
    set_memory_limit(0, {"predict", 0.25 * kGB, 4.0, 1});
    EXPECT_DOUBLE_EQ(scan_memory_need(1000, 2), 0.25 * kGB + 4000.0);
    EXPECT_DOUBLE_EQ(scan_memory_need(1000, 8), 0.25 * kGB + 8000.0);  // never less than the stored voxels
    set_memory_limit(0, {"preprocess", 0, 5.0, 3});
    EXPECT_DOUBLE_EQ(scan_memory_need(100, 2), 1500.0);
    set_memory_limit(0, {"info", 100, 0, 1});
    EXPECT_DOUBLE_EQ(scan_memory_need(100, 2), 300.0);
}

TEST(MemoryLimit, NoLimitByDefaultAndAtZero) {
    LimitGuard guard;
    EXPECT_EQ(memory_limit(), 0u);
    EXPECT_NO_THROW(check_scan_memory(std::uint64_t{1} << 40, 4, "huge", "x.mhd"));
}

TEST(MemoryLimit, TheErrorGivesTheNeedTheModelAndTheLimit) {
    LimitGuard guard;
    set_memory_limit(static_cast<std::uint64_t>(2 * kGB), {"infer", 1.0 * kGB, 5.4, 1});
    const std::uint64_t voxels = 512ull * 512 * 520;  // 0.69 GB at 5.4 bytes a voxel: 1.7 GB in all, fits
    EXPECT_NO_THROW(check_scan_memory(voxels, 2, "512x512x520", "s.mhd"));
    test::expect_error([&] { check_scan_memory(2 * voxels, 2, "512x512x1040", "s.mhd"); },
                       {"s.mhd: a 512x512x1040 scan needs about 2.4 GB in infer (1.0 GB + 5.4 bytes a voxel), over the "
                        "memory limit of 2.0 GB (--max-memory-gb)"});
    set_memory_limit(static_cast<std::uint64_t>(1 * kGB), {"preprocess", 0.17 * kGB, 5.1, 2});
    test::expect_error([&] { check_scan_memory(voxels, 2, "512x512x520", "s.mhd"); }, {"x 2 scans at once", "over the memory limit of 1.0 GB"});
}

TEST(MemoryLimit, EveryFormatRefusesBeforeAllocatingOrReadingTheVoxels) {
    LimitGuard guard;
    test::TempDir dir;
    set_memory_limit(static_cast<std::uint64_t>(1 * kGB), {"test", 0, 10.0, 1});
    // 2048^2 x 100 voxels x 10 bytes = 3.9 GB; no voxel file exists, so only a check before reading it can speak.
    write_file_atomically(dir.path("big.mhd"),
                          "NDims = 3\nDimSize = 2048 2048 100\nElementSpacing = 1 1 1\nElementType = MET_SHORT\n"
                          "ElementDataFile = missing.raw\n");
    test::expect_error([&] { (void)read_image(dir.path("big.mhd")); }, {"big.mhd: a 2048x2048x100 scan needs about 3.9 GB in test"});
    // A small one is read as usual.
    Volume<std::int16_t> small(test::small_geometry(), 5);
    write_image(dir.path("small.nii.gz"), small);
    EXPECT_EQ(read_ct(dir.path("small.nii.gz")).voxels.at(0), 5);
    set_memory_limit(1000, {"test", 0, 10.0, 1});
    test::expect_error([&] { (void)read_ct(dir.path("small.nii.gz")); }, {"small.nii.gz: a ", "scan needs about 0.0 GB in test"});
}

}  // namespace
}  // namespace nodulecad
