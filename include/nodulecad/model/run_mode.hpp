#pragma once
// How a network runs on its device. On CUDA: bf16 autocast for the forward pass with fp32 master weights (Adam at
// lr 1e-5 underflows in bf16 weights: updates of 1e-5 x 1e-2 vanish next to weights of 1e-1), channels-last
// tensors (the layout cuDNN's bf16 convolutions run fastest in) and cuDNN autotuning where shapes repeat. On a CPU: fp32, channels-last
// for the 2D networks (oneDNN's convolutions skip a reorder of every layer's input and output).
// Include only from torch translation units.
#include <torch/torch.h>

namespace nodulecad {

struct RunMode {
    bool bf16_autocast = false;
    bool channels_last = false;
};

// `amp`: use bf16 autocast where it helps (CUDA only: on a CPU it is ignored). Channels-last goes with it on CUDA;
// on a CPU it is always on.
RunMode run_mode(const torch::Device& device, bool amp);

// Which input shapes a network will see. Training batches and benchmarks repeat one shape, where cuDNN's algorithm
// search pays for itself; inference over scans changes shapes from scan to scan (the 3D detector's tiles follow each
// lung box, the last batch of slices or candidates is a remainder) and the search ran again for each new one: with it
// on, `infer` took 7.2-7.4 s on one full-size scan on an H200, without it 4.4-4.6 s (docs/performance.md, 2026-12-04).
enum class ShapeRegime { Fixed, Varying };

// Sets cuDNN's algorithm search for what follows (CUDA only; no effect elsewhere): on for Fixed, off for Varying.
// With the search on, results on CUDA are not bit-reproducible between runs; inference is tested to a tolerance.
// NODULECAD_CUDNN_AUTOTUNE=1 or =0 in the environment overrides both (for measuring); other values throw.
void set_cudnn_autotune(const torch::Device& device, ShapeRegime shapes);

// Whether to search, given the variable's value: "1" -> true, "0" -> false, nullptr (unset) -> the regime's default
// (Fixed: true, Varying: false), anything else throws Error.
bool cudnn_autotune_wanted(const char* value, ShapeRegime shapes);

// 4-D parameters and buffers to channels-last (values unchanged; a no-op without mode.channels_last).
void apply_memory_format(torch::nn::Module& module, const RunMode& mode);
torch::Tensor as_input(const torch::Tensor& x, const RunMode& mode);

// Whether CUDA autocast is on in this thread (for tests and checks).
bool cuda_autocast_enabled();

// bf16 autocast on CUDA for its lifetime when mode.bf16_autocast; the previous state comes back on destruction and
// the cast cache is cleared when the outermost scope ends. Compute losses outside it, on float outputs.
class AutocastScope {
public:
    explicit AutocastScope(const RunMode& mode);
    ~AutocastScope();
    AutocastScope(const AutocastScope&) = delete;
    AutocastScope& operator=(const AutocastScope&) = delete;

private:
    bool active_ = false;
    bool previous_ = false;
    at::ScalarType previous_dtype_ = at::kHalf;
};

// net->forward(x) in the mode (input layout, autocast) with a float output, the one form every caller needs: losses
// and metrics are computed in fp32 outside autocast (binary cross-entropy is unsafe under it).
template <class Net> torch::Tensor forward_float(Net& net, const torch::Tensor& x, const RunMode& mode) {
    torch::Tensor p;
    {
        AutocastScope autocast(mode);
        p = net->forward(as_input(x, mode));
    }
    return p.to(torch::kFloat);
}

}  // namespace nodulecad
