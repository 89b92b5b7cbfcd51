#pragma once
// How the C library's allocator treats the large buffers nodulecad allocates and frees all the time (a network's
// activations, gradients and concatenations: megabytes to hundreds of megabytes each, many per training step,
// slice or 3D pass).
//
// glibc's malloc serves a request above its mmap threshold (128 KiB at start, raised up to 32 MiB as such blocks are
// freed) with a fresh mapping and unmaps it on free, and gives the heap's free top back to the kernel beyond its trim
// threshold. Every fresh mapping is then faulted in page by page and zero-filled by the kernel on first touch. On
// the 2-core development VM a page fault costs so much that a U-Net inference on one 320x320 slice spent three
// quarters of its time there (221 ms a slice against 53 ms with the memory kept), and the 3D detector's four passes
// over a thin-slice scan two thirds (21.5 s against 7.0 s; docs/performance.md). Keeping freed memory in the process
// for the next request of its size removes that cost without changing any result.
//
// The price: memory freed stays in the process, so the resident size after a large step stays near that step's
// peak until the process ends, and a freed block below a live one can only be reused, not returned: `infer` on a
// thin-slice scan peaked at 1.21 GB instead of 1.07 GB.

namespace nodulecad {

// Process-wide: no block gets a mapping of its own (glibc's M_MMAP_MAX 0; it still maps what a worker thread's
// arena cannot hold, over 64 MiB), blocks up to 32 MiB would not either if mapping came back (M_MMAP_THRESHOLD),
// and the heap's free top is given back beyond 1 GiB only (M_TRIM_THRESHOLD). Returns false where the C library is
// not glibc (nothing is changed there). The command line calls it first thing; programs embedding the library may
// call it too. Idempotent; call it before threads start allocating.
bool keep_freed_memory_for_reuse();

}  // namespace nodulecad
