#include "nodulecad/model/run_mode.hpp"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <cstdlib>
#include <string>

#include "nodulecad/core/error.hpp"

namespace nodulecad {

// LibTorch 2.4 replaced the CUDA-only autocast calls by ones that name the device type; Debian's is 1.13.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define NODULECAD_AUTOCAST_BY_DEVICE 1
#else
#define NODULECAD_AUTOCAST_BY_DEVICE 0
#endif

bool cuda_autocast_enabled() {
#if NODULECAD_AUTOCAST_BY_DEVICE
    return at::autocast::is_autocast_enabled(at::kCUDA);
#else
    return at::autocast::is_enabled();
#endif
}

namespace {

at::ScalarType cuda_autocast_dtype() {
#if NODULECAD_AUTOCAST_BY_DEVICE
    return at::autocast::get_autocast_dtype(at::kCUDA);
#else
    return at::autocast::get_autocast_gpu_dtype();
#endif
}

void set_cuda_autocast(bool enabled, at::ScalarType dtype) {
#if NODULECAD_AUTOCAST_BY_DEVICE
    at::autocast::set_autocast_dtype(at::kCUDA, dtype);
    at::autocast::set_autocast_enabled(at::kCUDA, enabled);
#else
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(enabled);
#endif
}

}  // namespace

RunMode run_mode(const torch::Device& device, bool amp) {
    RunMode m;
    m.bf16_autocast = amp && device.is_cuda();
    // On a CPU oneDNN's convolutions run channels-last without reordering each layer's input and output: the demo's
    // U-Net 1.25x faster on a 320-px slice, 1.06-1.11x in training (docs/performance.md, 2026-12-04).
    m.channels_last = m.bf16_autocast || device.is_cpu();
    return m;
}

bool cudnn_autotune_wanted(const char* value, ShapeRegime shapes) {
    if (value == nullptr) return shapes == ShapeRegime::Fixed;
    if (std::string(value) == "1") return true;
    if (std::string(value) == "0") return false;
    throw Error("NODULECAD_CUDNN_AUTOTUNE=" + std::string(value) +
                ": use 1 (search cuDNN's algorithms) or 0 (do not); unset, training searches and inference does not");
}

void set_cudnn_autotune(const torch::Device& device, ShapeRegime shapes) {
    if (device.is_cuda())
        at::globalContext().setBenchmarkCuDNN(cudnn_autotune_wanted(std::getenv("NODULECAD_CUDNN_AUTOTUNE"), shapes));
}

void apply_memory_format(torch::nn::Module& module, const RunMode& mode) {
    if (!mode.channels_last) return;
    torch::NoGradGuard no_grad;
    for (auto& p : module.parameters())
        if (p.dim() == 4) p.set_data(p.data().contiguous(at::MemoryFormat::ChannelsLast));
    for (auto& b : module.buffers())
        if (b.dim() == 4) b.set_data(b.data().contiguous(at::MemoryFormat::ChannelsLast));
}

torch::Tensor as_input(const torch::Tensor& x, const RunMode& mode) {
    return mode.channels_last && x.dim() == 4 ? x.contiguous(at::MemoryFormat::ChannelsLast) : x;
}

AutocastScope::AutocastScope(const RunMode& mode) : active_(mode.bf16_autocast) {
    if (!active_) return;
    previous_ = cuda_autocast_enabled();
    previous_dtype_ = cuda_autocast_dtype();
    set_cuda_autocast(true, at::kBFloat16);
    at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
    if (!active_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set_cuda_autocast(previous_, previous_dtype_);
}

}  // namespace nodulecad
