#include "nodulecad/core/allocator.hpp"

#include <cstdlib>  // defines __GLIBC__ on glibc (it comes with any C library header, none before it here)

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace nodulecad {

bool keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
    // 32 MiB is the largest mmap threshold glibc accepts on 64-bit systems (half its per-thread heap size); setting
    // either threshold also stops glibc from moving them itself. The threshold alone still mapped the 3D networks'
    // activations of a whole lung box (over 100 MB each), so mapping is off altogether.
    constexpr int mmap_threshold = 32 << 20;
    constexpr int trim_threshold = 1 << 30;
    const bool mmap_set = mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1;
    const bool no_maps = mallopt(M_MMAP_MAX, 0) == 1;
    const bool trim_set = mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1;
    return mmap_set && no_maps && trim_set;
#else
    return false;
#endif
}

}  // namespace nodulecad
