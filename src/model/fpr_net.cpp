#include "nodulecad/model/fpr_net.hpp"

#include <algorithm>

#include "nodulecad/core/error.hpp"

namespace nodulecad {

namespace {
void add_conv(torch::nn::Sequential& s, std::int64_t in, std::int64_t out) {
    s->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1)));
    s->push_back(torch::nn::BatchNorm2d(out));
    s->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
}
}  // namespace

FprNetImpl::FprNetImpl(const FprNetConfig& c) : config_(c) {
    c.check();
    const std::int64_t w = c.width;
    torch::nn::Sequential trunk;
    std::int64_t prev = 3;
    for (int level = 0; level < 3; ++level) {
        const std::int64_t f = w << level;
        add_conv(trunk, prev, f);
        add_conv(trunk, f, f);
        trunk->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)));
        prev = f;
    }
    trunk->push_back(torch::nn::AdaptiveAvgPool2d(torch::nn::AdaptiveAvgPool2dOptions(1)));
    trunk_ = register_module("trunk", trunk);
    head_ = register_module("head", torch::nn::Sequential(torch::nn::Dropout(c.dropout), torch::nn::Linear(3 * 4 * w, 4 * w),
                                                          torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)), torch::nn::Linear(4 * w, 1)));
}

torch::Tensor FprNetImpl::forward(torch::Tensor x) {
    const std::int64_t b = x.size(0), p = x.size(2);
    // (B, 3 views x 3 planes, P, P) -> (3B, 3, P, P): the trunk sees each view as a 3-channel image.
    torch::Tensor f = trunk_->forward(x.reshape({b * 3, 3, p, x.size(3)}));
    f = f.reshape({b, 3 * f.size(1)});
    return head_->forward(f).reshape({b});
}

std::vector<double> fpr_probabilities(FprNet& model, const std::uint8_t* cubes, std::int64_t n, const PatchOptions& patch,
                                      const torch::Device& device, int batch, int symmetries) {
    require_between("symmetries", symmetries, 1, 8);
    torch::NoGradGuard no_grad;
    model->eval();
    const std::int64_t P = patch.patch, C = patch.channels();
    const std::size_t cube_bytes = static_cast<std::size_t>(patch.cube()) * static_cast<std::size_t>(patch.cube()) * static_cast<std::size_t>(patch.cube());
    const std::size_t view_floats = static_cast<std::size_t>(C * P * P);
    // The dihedral group of the axial square: quarter turns 0-3, then the same after mirroring x.
    std::vector<Augment> maps(static_cast<std::size_t>(symmetries));
    for (int s = 0; s < symmetries; ++s) {
        maps[static_cast<std::size_t>(s)].rotate = s % 4;
        maps[static_cast<std::size_t>(s)].flip[0] = s >= 4;
    }
    std::vector<double> out;
    out.reserve(static_cast<std::size_t>(n));
    std::vector<float> x;
    for (std::int64_t first = 0; first < n; first += batch) {
        const std::int64_t b = std::min<std::int64_t>(batch, n - first);
        std::vector<double> sum(static_cast<std::size_t>(b), 0.0);
        x.resize(static_cast<std::size_t>(b) * view_floats);
        for (const Augment& a : maps) {
            for (std::int64_t i = 0; i < b; ++i)
                cube_views(cubes + static_cast<std::size_t>(first + i) * cube_bytes, patch, a, x.data() + static_cast<std::size_t>(i) * view_floats);
            const torch::Tensor p = torch::sigmoid(model->forward(torch::from_blob(x.data(), {b, C, P, P}).to(device))).to(torch::kCPU).to(torch::kDouble).contiguous();
            for (std::int64_t i = 0; i < b; ++i) sum[static_cast<std::size_t>(i)] += p.data_ptr<double>()[i];
        }
        for (const double v : sum) out.push_back(v / symmetries);
    }
    return out;
}

void save_fpr_checkpoint(const std::string& path, FprNet& model, const FprCard& card, torch::optim::Optimizer* optimizer) {
    save_module_checkpoint(path, *model, card.to_json(), optimizer);
}

FprNet load_fpr_checkpoint(const std::string& path, FprCard& card, const torch::Device& device) {
    card = FprCard::from_json(read_card_text(path), path);
    FprNet model(card.net);
    load_module_weights(path, *model, device);
    return model;
}

}  // namespace nodulecad
