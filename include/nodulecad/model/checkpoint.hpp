#pragma once
// Checkpoint files shared by every network: a LibTorch archive holding the weights ("model"), a model card as JSON
// text ("card") and, for resumable checkpoints, the optimizer state ("optimizer"). Written to a temporary file and
// renamed. Include only from torch translation units.
#include <torch/torch.h>

#include <string>

#include "nodulecad/model/checkpoint_card.hpp"  // read_card_text

namespace nodulecad {

void save_module_checkpoint(const std::string& path, torch::nn::Module& model, const std::string& card_json, torch::optim::Optimizer* optimizer);
// Loads the weights into `model` (built from the card) and moves it to `device`, whatever device they were saved
// from (a GPU-trained model loads on a CPU-only build); Error if they do not fit.
void load_module_weights(const std::string& path, torch::nn::Module& model, const torch::Device& device);
// Restores optimizer state saved with the checkpoint onto the device of the optimizer's parameters (the optimizer
// must hold the loaded model's parameters).
void load_optimizer_state(const std::string& path, torch::optim::Optimizer& optimizer);

}  // namespace nodulecad
