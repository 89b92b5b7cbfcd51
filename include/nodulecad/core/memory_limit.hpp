#pragma once
// A command's memory ceiling (--max-memory-gb), checked by every reader of a scan before it allocates: the scan's
// voxel count times what the running command needs a voxel, plus what it needs whatever the scan (LibTorch, the
// networks), against the limit. Too large a scan is refused with the figure it would need, instead of the process
// being killed by the kernel halfway through. Process-wide: the command sets it once, before reading anything.
#include <cstdint>
#include <string>

namespace nodulecad {

// What a command needs for one scan, measured (docs/reliability.md): fixed_bytes + bytes_per_voxel x voxels, times
// the scans it holds at once. bytes_per_voxel 0: only the voxels as stored (the readers' own buffer).
struct ScanMemoryModel {
    std::string command;
    double fixed_bytes = 0;
    double bytes_per_voxel = 0;
    int scans_at_once = 1;
};

// limit_bytes 0: no limit (the default).
void set_memory_limit(std::uint64_t limit_bytes, const ScanMemoryModel& model);
std::uint64_t memory_limit();

// What a scan of `voxels` voxels stored in `stored_bytes` bytes each needs under the command's model.
double scan_memory_need(std::uint64_t voxels, std::uint64_t stored_bytes);

// Throws Error naming `source` when that need is over the limit: "SOURCE: a 512x512x520 scan needs about 2.9 GB
// in infer (1.0 GB + 11.2 bytes a voxel), over the memory limit of 2 GB (--max-memory-gb)".
void check_scan_memory(std::uint64_t voxels, std::uint64_t stored_bytes, const std::string& size_text, const std::string& source);

}  // namespace nodulecad
