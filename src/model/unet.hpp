#pragma once
// The U-Net as a LibTorch module, and checkpoints. Include only from torch translation units.
#include <torch/torch.h>

#include <string>

#include "model/checkpoint.hpp"
#include "model/unet_config.hpp"

namespace nodulecad {

// Five levels of two 3x3 convolutions + ReLU (optional batch norm), 2x2 max-pooling down, nearest 2x upsampling
// and concatenation [up, skip] up, then a 1x1 convolution and a sigmoid: the seed network for the defaults.
class UNetImpl : public torch::nn::Module {
public:
    explicit UNetImpl(const UNetConfig& c);
    torch::Tensor forward(torch::Tensor x);  // (B, C, H, W) -> probabilities (B, 1, H, W); H, W divisible by 2^(depth-1)
    const UNetConfig& config() const { return config_; }

private:
    UNetConfig config_;
    std::vector<torch::nn::Sequential> down_, up_;
    torch::nn::Conv2d head_{nullptr};
};
TORCH_MODULE(UNet);

// Checkpoint = model weights + model card (+ optimizer state for last.pt), written atomically.
void save_checkpoint(const std::string& path, UNet& model, const ModelCard& card, torch::optim::Optimizer* optimizer);
// Loads the card and builds the model from it. Error naming the file for anything that is not a nodulecad checkpoint.
UNet load_checkpoint(const std::string& path, ModelCard& card, const torch::Device& device = torch::kCPU);
// The card alone (cheap enough: reads the archive).
ModelCard read_model_card(const std::string& path);

torch::Device pick_device(const std::string& name);  // "auto", "cpu", "cuda", "cuda:N"

}  // namespace nodulecad
