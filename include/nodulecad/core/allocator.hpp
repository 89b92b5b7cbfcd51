#pragma once
// How the C library's allocator treats the large buffers nodulecad allocates and frees all the time (a network's
// activations, gradients and concatenations: megabytes to tens of megabytes each, many per training step or slice).
//
// glibc's malloc serves a request above its mmap threshold (128 KiB at start, raised up to 32 MiB as such blocks are
// freed) with a fresh mapping and unmaps it on free, and gives the heap's free top back to the kernel beyond its trim
// threshold. Every fresh mapping is then faulted in page by page and zero-filled by the kernel on first touch. On
// the 2-core development VM a page fault costs so much that a U-Net inference on one 320x320 slice spent three
// quarters of its time there (221 ms a slice against 53 ms with the memory kept; docs/performance.md). Keeping
// freed memory in the process for the next request of its size removes that cost without changing any result.
//
// The price: memory freed stays in the process (its peak is not lowered), so the resident size after a large step
// stays near that step's peak until the process ends. Blocks above 32 MiB (whole scans) are still mapped and
// unmapped on their own.

namespace nodulecad {

// Sets glibc's mmap threshold to its ceiling (32 MiB) and its trim threshold to 1 GiB, process-wide. Returns false
// where the C library is not glibc (nothing is changed there). The command line calls it first thing; programs
// embedding the library may call it too. Idempotent; call it before threads start allocating.
bool keep_freed_memory_for_reuse();

}  // namespace nodulecad
