#pragma once
// The false-positive-reduction CNN (model/fpr_config.hpp's FprArch; the inputs: preprocess/fpr_patches.hpp).
// 2.5d: one trunk shared by the three views — three levels of two 3x3 convolutions + batch norm + ReLU with 2x2
// max-pooling, global average pooling —, the views' features side by side (so the classifier knows which view said
// what). 3d: the same trunk in 3D twice, one on the cube's centre at full resolution and one on the whole cube at
// half resolution (two scales of context), their features side by side. Then dropout, a hidden layer and one logit.
// Include only from torch translation units.
#include <torch/torch.h>

#include <vector>

#include "nodulecad/model/checkpoint.hpp"
#include "nodulecad/model/fpr_config.hpp"

namespace nodulecad {

class FprNetImpl : public torch::nn::Module {
public:
    explicit FprNetImpl(const FprNetConfig& c);
    torch::Tensor forward(torch::Tensor x);  // (B, 9, P, P) views or (B, 1, P, P, P) cubes in [0, 1] -> logits (B)
    const FprNetConfig& config() const { return config_; }

private:
    FprNetConfig config_;
    torch::nn::Sequential trunk_{nullptr}, context_{nullptr}, head_{nullptr};
};
TORCH_MODULE(FprNet);

// Probabilities for `n` cubes (n x cube^3 bytes, cut with `patch`), central views, in eval mode. With `symmetries`
// > 1 the mean over the first that many of the 16 maps of cube_symmetry (identity first; test-time augmentation
// with maps training draws, so no interpolation). On a CPU the batches and maps run on `threads`
// workers of one compute thread each (ComputeThreadsScope); the result does not depend on `threads`.
std::vector<double> fpr_probabilities(FprNet& model, const std::uint8_t* cubes, std::int64_t n, const PatchOptions& patch,
                                      const torch::Device& device, int batch = 64, int symmetries = 1, int threads = 1);

void save_fpr_checkpoint(const std::string& path, FprNet& model, const FprCard& card, torch::optim::Optimizer* optimizer);
FprNet load_fpr_checkpoint(const std::string& path, FprCard& card, const torch::Device& device = torch::kCPU);

}  // namespace nodulecad
