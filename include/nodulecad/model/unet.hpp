#pragma once
// The U-Net as a LibTorch module, and checkpoints. Include only from torch translation units.
#include <torch/torch.h>

#include <string>

#include "nodulecad/model/checkpoint.hpp"
#include "nodulecad/model/unet_config.hpp"

namespace nodulecad {

// Five levels of two 3x3 convolutions + ReLU (optional batch norm), 2x2 max-pooling down, nearest 2x upsampling
// and concatenation [up, skip] up, then a 1x1 convolution and a sigmoid: the seed network for the defaults.
class UNetImpl : public torch::nn::Module {
public:
    explicit UNetImpl(const UNetConfig& c);
    torch::Tensor forward(torch::Tensor x);  // (B, C, H, W) -> probabilities (B, 1, H, W); H, W divisible by 2^(depth-1)
    const UNetConfig& config() const { return config_; }
    // Upsample with torch::upsample_nearest2d whatever the dtype (for `bench --aten-upsample`, to measure the
    // difference upsample2x_nearest makes under autocast). Not saved with the model.
    void use_aten_upsample(bool on) { aten_upsample_ = on; }

private:
    UNetConfig config_;
    bool aten_upsample_ = false;
    std::vector<torch::nn::Sequential> down_, up_;
    torch::nn::Conv2d head_{nullptr};
};
TORCH_MODULE(UNet);

// Nearest-neighbour 2x upsampling of (N, C, H, W), the same values as torch::upsample_nearest2d, kept in the input's
// dtype and memory format. fp32 goes to upsample_nearest2d; reduced precision (bf16 under CUDA autocast) to a
// broadcast copy, because CUDA autocast runs upsample_nearest2d in fp32: a bf16 decoder would then upsample in fp32,
// concatenate in fp32 (the skip cast up too) and cast back down for the next convolution — extra passes over the
// largest tensors of the network. A broadcast copy is not an autocast op and stays bf16.
torch::Tensor upsample2x_nearest(const torch::Tensor& x);

// Checkpoint = model weights + model card (+ optimizer state for last.pt), written atomically.
void save_checkpoint(const std::string& path, UNet& model, const ModelCard& card, torch::optim::Optimizer* optimizer);
// Loads the card and builds the model from it. Error naming the file for anything that is not a nodulecad checkpoint.
UNet load_checkpoint(const std::string& path, ModelCard& card, const torch::Device& device = torch::kCPU);
// The card alone (cheap enough: reads the archive).
ModelCard read_model_card(const std::string& path);

torch::Device pick_device(const std::string& name);  // "auto", "cpu", "cuda", "cuda:N"

}  // namespace nodulecad
