#include "nodulecad/core/memory_limit.hpp"

#include <algorithm>
#include <cstdio>
#include <mutex>

#include "nodulecad/core/error.hpp"

namespace nodulecad {

namespace {
std::mutex g_mutex;
std::uint64_t g_limit = 0;
ScanMemoryModel g_model;

// GB as --max-memory-gb counts them: 2^30 bytes.
std::string gigabytes(double bytes) {
    const double gb = bytes / 1073741824.0;
    char buf[32];
    std::snprintf(buf, sizeof buf, gb < 10 ? "%.1f GB" : "%.0f GB", gb);
    return buf;
}
}  // namespace

void set_memory_limit(std::uint64_t limit_bytes, const ScanMemoryModel& model) {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_limit = limit_bytes;
    g_model = model;
    g_model.scans_at_once = std::max(1, model.scans_at_once);
}

std::uint64_t memory_limit() {
    std::lock_guard<std::mutex> lock(g_mutex);
    return g_limit;
}

double scan_memory_need(std::uint64_t voxels, std::uint64_t stored_bytes) {
    std::lock_guard<std::mutex> lock(g_mutex);
    const double per_voxel = std::max(g_model.bytes_per_voxel, static_cast<double>(stored_bytes));
    return g_model.fixed_bytes + per_voxel * static_cast<double>(voxels) * g_model.scans_at_once;
}

void check_scan_memory(std::uint64_t voxels, std::uint64_t stored_bytes, const std::string& size_text, const std::string& source) {
    const std::uint64_t limit = memory_limit();
    if (limit == 0) return;
    const double need = scan_memory_need(voxels, stored_bytes);
    if (need <= static_cast<double>(limit)) return;
    ScanMemoryModel m;
    {
        std::lock_guard<std::mutex> lock(g_mutex);
        m = g_model;
    }
    std::string how;
    if (m.bytes_per_voxel > 0) {
        char per[32];
        std::snprintf(per, sizeof per, "%.1f", std::max(m.bytes_per_voxel, static_cast<double>(stored_bytes)));
        how = " (" + gigabytes(m.fixed_bytes) + " + " + per + " bytes a voxel" +
              (m.scans_at_once > 1 ? " x " + std::to_string(m.scans_at_once) + " scans at once" : std::string()) + ")";
    }
    fail(source, "a " + size_text + " scan needs about " + gigabytes(need) + (m.command.empty() ? "" : " in " + m.command) + how +
                     ", over the memory limit of " + gigabytes(static_cast<double>(limit)) + " (--max-memory-gb)");
}

}  // namespace nodulecad
