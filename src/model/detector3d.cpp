#include "nodulecad/model/detector3d.hpp"

#include <cmath>
#include <string>

#include "nodulecad/core/error.hpp"
#include "nodulecad/model/checkpoint.hpp"
#include "nodulecad/model/losses.hpp"

namespace nodulecad {

namespace {

torch::nn::Sequential double_conv3d(std::int64_t in, std::int64_t out, bool bn) {
    torch::nn::Sequential s;
    for (int n = 0; n < 2; ++n) {
        s->push_back(torch::nn::Conv3d(torch::nn::Conv3dOptions(n == 0 ? in : out, out, 3).padding(1)));
        if (bn) s->push_back(torch::nn::BatchNorm3d(out));
        s->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
    }
    return s;
}

}  // namespace

Detector3dImpl::Detector3dImpl(const Detector3dConfig& c) : config_(c) {
    c.check();
    std::int64_t prev = c.network_channels();
    for (int l = 0; l < c.depth; ++l) {
        const std::int64_t f = static_cast<std::int64_t>(c.base_filters) << l;
        down_.push_back(register_module("down" + std::to_string(l), double_conv3d(prev, f, c.batch_norm)));
        prev = f;
    }
    for (int l = c.depth - 2; l >= 0; --l) {
        const std::int64_t f = static_cast<std::int64_t>(c.base_filters) << l;
        up_.push_back(register_module("up" + std::to_string(l), double_conv3d(3 * f, f, c.batch_norm)));
    }
    heat_ = register_module("heat", torch::nn::Conv3d(torch::nn::Conv3dOptions(c.base_filters, 1, 1)));
    size_ = register_module("size", torch::nn::Conv3d(torch::nn::Conv3dOptions(c.base_filters, 1, 1)));
    // Start the heatmap at p = 0.01 everywhere (CenterNet's prior): almost every voxel is background, and a start at
    // 0.5 makes the first steps all about pushing the background down. Sizes start at log(6 mm).
    torch::NoGradGuard no_grad;
    heat_->bias.fill_(std::log(0.01 / 0.99));
    size_->bias.fill_(std::log(6.0));
}

torch::Tensor detector3d_input(const torch::Tensor& x, Detector3dInput input) {
    if (input != Detector3dInput::LungAndGlass) return x;  // the mask, when there is one, is fed as a channel
    // -1..1 is the card's window; its lower half, -1..0, stretched to -1..1.
    return torch::cat({x, (2 * x + 1).clamp(-1, 1)}, 1);
}

torch::Tensor Detector3dImpl::forward(torch::Tensor x) {
    if (x.dim() != 5 || x.size(1) != config_.fed_channels())
        throw Error("the 3D detector takes (batch, " + std::to_string(config_.fed_channels()) + ", z, y, x) input, got " + std::to_string(x.dim()) +
                    " dimensions with " + std::to_string(x.dim() > 1 ? x.size(1) : 0) + " channels");
    x = detector3d_input(x, config_.input);
    std::vector<torch::Tensor> skips;
    for (std::size_t l = 0; l < down_.size(); ++l) {
        if (l > 0) x = torch::max_pool3d(x, 2);
        x = down_[l]->forward(x);
        skips.push_back(x);
    }
    for (std::size_t u = 0; u < up_.size(); ++u) {
        const torch::Tensor& skip = skips[skips.size() - 2 - u];
        x = torch::nn::functional::interpolate(x, torch::nn::functional::InterpolateFuncOptions()
                                                      .size(std::vector<std::int64_t>{skip.size(2), skip.size(3), skip.size(4)})
                                                      .mode(torch::kNearest));
        x = up_[u]->forward(torch::cat({x, skip}, 1));
    }
    return torch::cat({heat_->forward(x), size_->forward(x)}, 1);
}

Detector3dLossSums detector3d_loss_sums(const torch::Tensor& output, const torch::Tensor& target, const torch::Tensor& log_diameter,
                                        Detector3dHead head, const HeatmapLossOptions& o) {
    const torch::Tensor logit = output.select(1, 0).unsqueeze(1);
    Detector3dLossSums s;
    if (head == Detector3dHead::Segmentation) {
        const torch::Tensor inside = target.gt(0.5).to(output.scalar_type());
        s.count = inside.sum();
        s.size = ((output.select(1, 1).unsqueeze(1) - log_diameter).abs() * inside).sum();
        s.p = torch::sigmoid(logit);
        return s;
    }
    const torch::Tensor p = torch::sigmoid(logit);
    const torch::Tensor centre = target.eq(1).to(output.scalar_type());
    s.count = centre.sum();
    // log p and log(1 - p) from the logit, stable where p saturates.
    const torch::Tensor log_p = torch::nn::functional::logsigmoid(logit), log_q = torch::nn::functional::logsigmoid(-logit);
    const torch::Tensor pos = (1 - p).pow(o.alpha) * log_p * centre;
    const torch::Tensor neg = (1 - target).pow(o.beta) * p.pow(o.alpha) * log_q * (1 - centre);
    s.focal = -(pos.sum() + neg.sum());
    s.size = ((output.select(1, 1).unsqueeze(1) - log_diameter).abs() * centre).sum();
    return s;
}

torch::Tensor detector3d_loss(const torch::Tensor& output, const torch::Tensor& heat, const torch::Tensor& log_diameter,
                              const HeatmapLossOptions& o) {
    const Detector3dLossSums s = detector3d_loss_sums(output, heat, log_diameter, Detector3dHead::Heatmap, o);
    const torch::Tensor n = s.count.clamp_min(1);
    return s.focal / n + o.size_weight * (s.size / n);
}

torch::Tensor detector3d_segmentation_loss(const torch::Tensor& output, const torch::Tensor& mask, const torch::Tensor& log_diameter,
                                           const HeatmapLossOptions& o) {
    const Detector3dLossSums s = detector3d_loss_sums(output, mask, log_diameter, Detector3dHead::Segmentation, o);
    const torch::Tensor n = s.count.clamp_min(1);
    const torch::Tensor bce = torch::nn::functional::binary_cross_entropy_with_logits(output.select(1, 0).unsqueeze(1), mask);
    const torch::Tensor dice = soft_dice(s.p, mask);
    return bce + (1 - dice) + o.size_weight * (s.size / n);
}

void save_detector3d(const std::string& path, Detector3d& model, const Detector3dCard& card, torch::optim::Optimizer* optimizer) {
    save_module_checkpoint(path, *model, card.to_json(), optimizer);
}

Detector3d load_detector3d(const std::string& path, Detector3dCard& card, const torch::Device& device) {
    card = Detector3dCard::from_json(read_card_text(path), path);
    Detector3d model(card.net);
    load_module_weights(path, *model, device);
    return model;
}

}  // namespace nodulecad
