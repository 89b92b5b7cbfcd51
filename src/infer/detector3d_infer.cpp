#include "nodulecad/infer/detector3d_infer.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/stopwatch.hpp"
#include "nodulecad/model/detector3d.hpp"
#include "nodulecad/model/run_mode.hpp"
#include "nodulecad/model/unet.hpp"
#include "nodulecad/preprocess/grid3d.hpp"

namespace nodulecad {

struct Detector3dRunner::Impl {
    Detector3dCard card;
    Detector3d net{nullptr};
    torch::Device device = torch::kCPU;
    RunMode mode;
    int core = 64, margin = 8, flips = 1;
    double network_seconds = 0;  // the passes, until their means are on the CPU
};

namespace {
// Test-time mirrors, in the order `flips` takes them: none, then x, y, z, then pairs, then all three (tensor dims of
// a (1, C, z, y, x) tile).
const std::vector<std::vector<std::int64_t>> kMirrors = {{}, {4}, {3}, {2}, {4, 3}, {4, 2}, {3, 2}, {4, 3, 2}};
static_assert(kMaxDetector3dFlips == 8, "kMirrors lists one pass per allowed flip");
}  // namespace

Detector3dRunner::Detector3dRunner(const Detector3dRunOptions& o) : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    m.device = pick_device(o.device);
    m.net = load_detector3d(o.model, m.card, m.device);
    m.net->eval();
    m.mode = run_mode(m.device, o.amp);
    set_cudnn_autotune(m.device, ShapeRegime::Varying);
    if (o.tile < 0 || o.margin < 0) throw OptionError("tile", "and margin must be >= 0");
    require_between("flips", o.flips, 1, kMaxDetector3dFlips);
    m.flips = o.flips;
    m.core = o.tile > 0 ? o.tile : 160;
    m.margin = o.margin;
}

Detector3dRunner::~Detector3dRunner() = default;

const Detector3dCard& Detector3dRunner::card() const { return impl_->card; }

double Detector3dRunner::network_seconds() const { return impl_->network_seconds; }

HeatmapVolumes Detector3dRunner::run(const Volume<std::uint8_t>& box, const Volume<std::uint8_t>* lungs_on_box) const {
    Impl& m = *impl_;  // the module's forward is not const
    const bool mask = m.card.net.needs_lung_mask();
    if (mask && (lungs_on_box == nullptr || !same_grid(lungs_on_box->geometry, box.geometry)))
        throw Error("the 3D detector sees the lung mask beside the scan (lung+mask input): it needs the mask on the box's grid");
    const auto& n = box.geometry.size;
    const std::int64_t step = std::int64_t{1} << (m.card.net.depth - 1), M = m.margin;
    // Per axis, the core: the whole box when it fits in `core` (rounded up so core + margins halve evenly), so most
    // boxes take one pass with no work spent on overlaps.
    std::array<std::int64_t, 3> C{}, T{};
    for (int a = 0; a < 3; ++a) {
        const auto i = static_cast<std::size_t>(a);
        C[i] = std::min<std::int64_t>(n[i], m.core);
        T[i] = (C[i] + 2 * M + step - 1) / step * step;
        C[i] = T[i] - 2 * M;
    }
    const std::int64_t tile_voxels = T[0] * T[1] * T[2];
    HeatmapVolumes out{Volume<float>(box.geometry, 0.f), Volume<float>(box.geometry, 0.f)};
    torch::NoGradGuard no_grad;
    const std::int64_t channels = mask ? 2 : 1;
    std::vector<float> tile(static_cast<std::size_t>(tile_voxels * channels));
    const auto tix = [&](std::int64_t x, std::int64_t y, std::int64_t z) { return static_cast<std::size_t>((z * T[1] + y) * T[0] + x); };
    for (std::int64_t z0 = 0; z0 < n[2]; z0 += C[2])
        for (std::int64_t y0 = 0; y0 < n[1]; y0 += C[1])
            for (std::int64_t x0 = 0; x0 < n[0]; x0 += C[0]) {
                // Input: the core and its margins, -1 (air, -1000 HU; outside the lungs) outside the box.
                for (std::int64_t z = 0; z < T[2]; ++z)
                    for (std::int64_t y = 0; y < T[1]; ++y)
                        for (std::int64_t x = 0; x < T[0]; ++x) {
                            const std::int64_t i = x0 - M + x, j = y0 - M + y, k = z0 - M + z;
                            const bool inside = i >= 0 && j >= 0 && k >= 0 && i < n[0] && j < n[1] && k < n[2];
                            const auto v = [&](const Volume<std::uint8_t>& from) {
                                return inside ? static_cast<float>(from.voxels[from.offset(i, j, k)]) / 127.5f - 1.f : -1.f;
                            };
                            tile[tix(x, y, z)] = v(box);
                            if (mask) tile[static_cast<std::size_t>(tile_voxels) + tix(x, y, z)] = v(*lungs_on_box);
                        }
                const torch::Tensor x = torch::from_blob(tile.data(), {1, channels, T[2], T[1], T[0]}, torch::kFloat).to(m.device);
                // Each mirrored pass's heat (sigmoid) and log-diameter, mirrored back and summed per voxel where the
                // network ran: only their means cross to the CPU (on a GPU, a quarter of the copies and none of the
                // per-voxel work on one CPU thread).
                const Stopwatch network;
                torch::Tensor heat_sum, logd_sum;
                for (int f = 0; f < m.flips; ++f) {
                    const auto& dims = kMirrors[static_cast<std::size_t>(f)];
                    torch::Tensor y;
                    {
                        AutocastScope autocast(m.mode);
                        y = m.net->forward(dims.empty() ? x : torch::flip(x, dims));
                    }
                    if (!dims.empty()) y = torch::flip(y, dims);
                    y = y.to(torch::kFloat);
                    const torch::Tensor heat = torch::sigmoid(y.select(1, 0)), logd = y.select(1, 1);
                    heat_sum = f == 0 ? heat : heat_sum + heat;
                    logd_sum = f == 0 ? logd : logd_sum + logd;
                }
                const float inv = 1.f / static_cast<float>(m.flips);
                const torch::Tensor heat = (heat_sum * inv).to(torch::kCPU).contiguous();
                const torch::Tensor diameter = torch::exp(logd_sum * inv).to(torch::kCPU).contiguous();
                m.network_seconds += network.seconds();
                const float* heat_v = heat.data_ptr<float>();
                const float* diameter_v = diameter.data_ptr<float>();
                for (std::int64_t z = 0; z < C[2] && z0 + z < n[2]; ++z)
                    for (std::int64_t yy = 0; yy < C[1] && y0 + yy < n[1]; ++yy)
                        for (std::int64_t xx = 0; xx < C[0] && x0 + xx < n[0]; ++xx) {
                            const std::size_t src = tix(xx + M, yy + M, z + M);
                            const std::size_t dst = box.offset(x0 + xx, y0 + yy, z0 + z);
                            out.heat.voxels[dst] = heat_v[src];
                            out.diameter_mm.voxels[dst] = diameter_v[src];
                        }
            }
    return out;
}

HeatmapVolumes Detector3dRunner::run(const Volume<std::int16_t>& scan, const Volume<std::uint8_t>& lungs, int threads) const {
    const Volume<std::uint8_t> box = lung_box_on_grid(scan, lungs, impl_->card.grid, threads);
    if (!impl_->card.net.needs_lung_mask()) return run(box);
    const Volume<std::uint8_t> lungs_on_box = lungs_on_grid(lungs, box.geometry, threads);
    return run(box, &lungs_on_box);
}

}  // namespace nodulecad
