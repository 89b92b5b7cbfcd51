#include "nodulecad/model/unet.hpp"

#include "nodulecad/core/error.hpp"
#include "nodulecad/model/checkpoint.hpp"

namespace nodulecad {

namespace {
torch::nn::Sequential double_conv(std::int64_t in, std::int64_t out, bool bn) {
    torch::nn::Sequential s;
    for (int n = 0; n < 2; ++n) {
        s->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(n == 0 ? in : out, out, 3).padding(1)));
        if (bn) s->push_back(torch::nn::BatchNorm2d(out));
        s->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
    }
    return s;
}
}  // namespace

torch::Tensor upsample2x_nearest(const torch::Tensor& x) {
    const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    // In fp32 ATen's kernel is the faster one (on 2 CPU cores the broadcast copy costs 1.3x as much).
    if (x.scalar_type() == torch::kFloat) return torch::upsample_nearest2d(x, {2 * h, 2 * w});
    if (x.suggest_memory_format() == at::MemoryFormat::ChannelsLast) {
        // Work on the (N, H, W, C) view that is contiguous in memory, so the copy comes out channels-last too.
        return x.permute({0, 2, 3, 1})
            .unsqueeze(2)
            .unsqueeze(4)
            .expand({n, h, 2, w, 2, c})
            .reshape({n, 2 * h, 2 * w, c})
            .permute({0, 3, 1, 2});
    }
    return x.unsqueeze(3).unsqueeze(5).expand({n, c, h, 2, w, 2}).reshape({n, c, 2 * h, 2 * w});
}

UNetImpl::UNetImpl(const UNetConfig& c) : config_(c) {
    c.check();
    std::int64_t prev = c.in_channels;
    for (int l = 0; l < c.depth; ++l) {
        const std::int64_t f = static_cast<std::int64_t>(c.base_filters) << l;
        down_.push_back(register_module("down" + std::to_string(l), double_conv(prev, f, c.batch_norm)));
        prev = f;
    }
    for (int l = c.depth - 2; l >= 0; --l) {
        const std::int64_t f = static_cast<std::int64_t>(c.base_filters) << l;
        up_.push_back(register_module("up" + std::to_string(l), double_conv(3 * f, f, c.batch_norm)));
    }
    head_ = register_module("head", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.base_filters, 1, 1)));
}

torch::Tensor UNetImpl::forward(torch::Tensor x) {
    std::vector<torch::Tensor> skips;
    for (int l = 0; l < config_.depth; ++l) {
        if (l > 0) x = torch::max_pool2d(x, 2);
        x = down_[static_cast<std::size_t>(l)]->forward(x);
        skips.push_back(x);
    }
    for (std::size_t u = 0; u < up_.size(); ++u) {
        const torch::Tensor& skip = skips[skips.size() - 2 - u];
        x = aten_upsample_ ? torch::upsample_nearest2d(x, {2 * x.size(2), 2 * x.size(3)}) : upsample2x_nearest(x);
        x = up_[u]->forward(torch::cat({x, skip}, 1));
    }
    return torch::sigmoid(head_->forward(x));
}

torch::Device pick_device(const std::string& name) {
    if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
    if (name == "cpu") return torch::kCPU;
    if (name.rfind("cuda", 0) == 0) {
        if (!torch::cuda::is_available()) throw OptionError("device", "is " + name + ", but this LibTorch sees no CUDA device");
        return torch::Device(name);
    }
    throw OptionError("device", "must be auto, cpu or cuda[:N], got '" + name + "'");
}

void save_checkpoint(const std::string& path, UNet& model, const ModelCard& card, torch::optim::Optimizer* optimizer) {
    save_module_checkpoint(path, *model, card.to_json(), optimizer);
}

ModelCard read_model_card(const std::string& path) { return ModelCard::from_json(read_card_text(path), path); }

UNet load_checkpoint(const std::string& path, ModelCard& card, const torch::Device& device) {
    card = read_model_card(path);
    UNet model(card.unet);
    load_module_weights(path, *model, device);
    return model;
}

}  // namespace nodulecad
