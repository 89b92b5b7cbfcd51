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
// A 24-MiB block (a network's activation) is served from the heap, not a mapping of its own, and freeing it does
// not hand the heap's top back to the kernel: the next block of its size finds its pages already faulted in. With
// glibc's defaults the block is mapped (threshold 128 KiB at start), so both checks fail without the setting.
TEST(Allocator, FreedBlocksStayInTheProcess) {
    if (kSanitizedAllocator) GTEST_SKIP() << "the sanitizer's allocator ignores glibc's settings";
    ASSERT_TRUE(nodulecad::keep_freed_memory_for_reuse());
    const std::size_t size = std::size_t{24} << 20;
    const struct mallinfo2 before = mallinfo2();
    auto* volatile block = static_cast<unsigned char*>(std::malloc(size));
    ASSERT_NE(block, nullptr);
    std::memset(block, 1, size);
    const struct mallinfo2 holding = mallinfo2();
    EXPECT_EQ(holding.hblkhd, before.hblkhd) << "the block was given a mapping of its own";
    EXPECT_GE(holding.arena, before.arena + size) << "the heap did not grow by the block";
    EXPECT_EQ(block[size - 1], 1);
    std::free(block);
    const struct mallinfo2 after = mallinfo2();
    EXPECT_GE(after.arena, holding.arena) << "the heap was trimmed after the free";
    EXPECT_TRUE(nodulecad::keep_freed_memory_for_reuse()) << "a second call changes nothing and succeeds";
}
#elif !defined(__GLIBC__)
TEST(Allocator, NotGlibcNothingChanges) { EXPECT_FALSE(nodulecad::keep_freed_memory_for_reuse()); }
#endif
