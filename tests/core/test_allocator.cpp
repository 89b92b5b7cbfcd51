// The allocator setting the command line makes first (core/allocator): freed blocks stay in the process for reuse.
#include "nodulecad/core/allocator.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#if __GLIBC_PREREQ(2, 33)
#define NODULECAD_HAVE_MALLINFO2 1
#endif
#endif

namespace {

// AddressSanitizer brings its own allocator and ignores glibc's settings.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitizedAllocator = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitizedAllocator = true;
#else
constexpr bool kSanitizedAllocator = false;
#endif
#else
constexpr bool kSanitizedAllocator = false;
#endif

}  // namespace

#if defined(NODULECAD_HAVE_MALLINFO2)
namespace {

// Blocks of 24 MiB (a 2D network's activation) and 160 MiB (a 3D one's over a lung box) are served from the main
// heap, not mappings of their own, and freeing one does not hand the heap's top back to the kernel: the next block
// of its size finds its pages already faulted in. With glibc's defaults both are mapped (threshold 128 KiB at
// start), so the checks fail without the setting; with the threshold alone (at most 32 MiB), the larger one.
void expect_kept(std::size_t size) {
    const struct mallinfo2 before = mallinfo2();
    auto* volatile block = static_cast<unsigned char*>(std::malloc(size));
    ASSERT_NE(block, nullptr);
    std::memset(block, 1, size);
    const struct mallinfo2 holding = mallinfo2();
    EXPECT_EQ(holding.hblkhd, before.hblkhd) << size << " bytes were given a mapping of their own";
    EXPECT_GE(holding.uordblks, before.uordblks + size) << "the heap does not hold the block of " << size << " bytes";
    EXPECT_EQ(block[size - 1], 1);
    std::free(block);
    const struct mallinfo2 after = mallinfo2();
    EXPECT_GE(after.arena, holding.arena) << "the heap was trimmed after freeing " << size << " bytes";
}

}  // namespace

TEST(Allocator, FreedBlocksStayInTheProcess) {
    if (kSanitizedAllocator) GTEST_SKIP() << "the sanitizer's allocator ignores glibc's settings";
    ASSERT_TRUE(nodulecad::keep_freed_memory_for_reuse());
    expect_kept(std::size_t{24} << 20);
    expect_kept(std::size_t{160} << 20);
    EXPECT_TRUE(nodulecad::keep_freed_memory_for_reuse()) << "a second call changes nothing and succeeds";
}
#elif !defined(__GLIBC__)
TEST(Allocator, NotGlibcNothingChanges) { EXPECT_FALSE(nodulecad::keep_freed_memory_for_reuse()); }
#endif
