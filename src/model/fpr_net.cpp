#include "nodulecad/model/fpr_net.hpp"

#include <algorithm>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/threads.hpp"
#include "nodulecad/model/device.hpp"

namespace nodulecad {

namespace {

// The layers of a 2D or a 3D trunk.
struct Layers2d {
    using Conv = torch::nn::Conv2d;
    using ConvOptions = torch::nn::Conv2dOptions;
    using Norm = torch::nn::BatchNorm2d;
    using Pool = torch::nn::MaxPool2d;
    using PoolOptions = torch::nn::MaxPool2dOptions;
    using GlobalPool = torch::nn::AdaptiveAvgPool2d;
    using GlobalPoolOptions = torch::nn::AdaptiveAvgPool2dOptions;
};
struct Layers3d {
    using Conv = torch::nn::Conv3d;
    using ConvOptions = torch::nn::Conv3dOptions;
    using Norm = torch::nn::BatchNorm3d;
    using Pool = torch::nn::MaxPool3d;
    using PoolOptions = torch::nn::MaxPool3dOptions;
    using GlobalPool = torch::nn::AdaptiveAvgPool3d;
    using GlobalPoolOptions = torch::nn::AdaptiveAvgPool3dOptions;
};

// Three levels of two 3x3 (3x3x3) convolutions + batch norm + ReLU with 2x max-pooling, then global average
// pooling: 4w features.
template <class L> torch::nn::Sequential trunk(std::int64_t in, std::int64_t w) {
    torch::nn::Sequential t;
    const auto conv = [&](std::int64_t i, std::int64_t o) {
        t->push_back(typename L::Conv(typename L::ConvOptions(i, o, 3).padding(1)));
        t->push_back(typename L::Norm(o));
        t->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
    };
    for (int level = 0; level < 3; ++level) {
        const std::int64_t f = w << level;
        conv(in, f);
        conv(f, f);
        t->push_back(typename L::Pool(typename L::PoolOptions(2)));
        in = f;
    }
    t->push_back(typename L::GlobalPool(typename L::GlobalPoolOptions(1)));
    return t;
}

}  // namespace

FprNetImpl::FprNetImpl(const FprNetConfig& c) : config_(c) {
    c.check();
    const std::int64_t w = c.width;
    std::int64_t parts = 3;
    if (c.arch == FprArch::Cube3d) {
        trunk_ = register_module("trunk", trunk<Layers3d>(1, w));
        context_ = register_module("context", trunk<Layers3d>(1, w));
        parts = 2;
    } else {
        trunk_ = register_module("trunk", trunk<Layers2d>(3, w));
    }
    head_ = register_module("head", torch::nn::Sequential(torch::nn::Dropout(c.dropout), torch::nn::Linear(parts * 4 * w, 4 * w),
                                                          torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)), torch::nn::Linear(4 * w, 1)));
}

torch::Tensor FprNetImpl::forward(torch::Tensor x) {
    const std::int64_t b = x.size(0), p = x.size(2);
    torch::Tensor f;
    if (config_.arch == FprArch::Cube3d) {
        // (B, 1, P, P, P): the central (P/2)^3 at full resolution, and the whole cube at half resolution.
        using torch::indexing::Slice;
        const std::int64_t q = p / 4;
        const torch::Tensor centre = x.index({Slice(), Slice(), Slice(q, q + p / 2), Slice(q, q + p / 2), Slice(q, q + p / 2)});
        const torch::Tensor whole = torch::avg_pool3d(x, 2);
        f = torch::cat({trunk_->forward(centre).reshape({b, -1}), context_->forward(whole).reshape({b, -1})}, 1);
    } else {
        // (B, 3 views x 3 planes, P, P) -> (3B, 3, P, P): the trunk sees each view as a 3-channel image.
        f = trunk_->forward(x.reshape({b * 3, 3, p, x.size(3)}));
        f = f.reshape({b, 3 * f.size(1)});
    }
    return head_->forward(f).reshape({b});
}

std::vector<double> fpr_probabilities(FprNet& model, const std::uint8_t* cubes, std::int64_t n, const PatchOptions& patch,
                                      const torch::Device& device, int batch, int symmetries, int threads) {
    require_between("symmetries", symmetries, 1, kCubeSymmetries);
    require_positive("batch", batch);
    model->eval();
    const FprNetConfig& net = model->config();
    net.check_patch(patch);
    const std::size_t cube_bytes = static_cast<std::size_t>(patch.cube()) * static_cast<std::size_t>(patch.cube()) * static_cast<std::size_t>(patch.cube());
    const std::size_t input_floats = fpr_input_floats(net, patch);
    std::vector<Augment> maps;
    for (int s = 0; s < symmetries; ++s) maps.push_back(cube_symmetry(s));
    // One unit of work: a batch under one map, its probabilities into row s of `by_map`.
    const std::int64_t batches = (n + batch - 1) / batch, units = batches * symmetries;
    std::vector<double> by_map(static_cast<std::size_t>(symmetries * n));
    const bool cpu_workers = device.is_cpu() && threads > 1 && units > 1;
    const int input_threads = cpu_workers ? 1 : std::max(1, threads);
    const auto run_unit = [&](std::int64_t u) {
        torch::NoGradGuard no_grad;  // per thread
        const std::int64_t first = (u / symmetries) * batch, b = std::min<std::int64_t>(batch, n - first);
        const std::int64_t s = u % symmetries;
        std::vector<float> x(static_cast<std::size_t>(b) * input_floats);
        // One feeder (a GPU, or a CPU with one worker) cuts its batch's inputs on `threads` workers; CPU workers
        // already run units side by side (input_threads 1).
        parallel_for(b, input_threads, [&](std::int64_t i) {
            fpr_input(net, cubes + static_cast<std::size_t>(first + i) * cube_bytes, patch, maps[static_cast<std::size_t>(s)],
                      x.data() + static_cast<std::size_t>(i) * input_floats);
        });
        const torch::Tensor input = torch::from_blob(x.data(), fpr_batch_shape(net, patch, b)).to(device);
        const torch::Tensor p = torch::sigmoid(model->forward(input)).to(torch::kCPU).to(torch::kDouble).contiguous();
        std::copy(p.data_ptr<double>(), p.data_ptr<double>() + b, by_map.begin() + static_cast<std::ptrdiff_t>(s * n + first));
    };
    // On a CPU the units run on `threads` workers of one compute thread each (a batch's small 3D convolutions
    // split over two threads leave both waiting); each unit's outputs are those of one thread running them all.
    if (cpu_workers) {
        const ComputeThreadsScope one(1);
        parallel_for(units, threads, run_unit);
    } else {
        for (std::int64_t u = 0; u < units; ++u) run_unit(u);
    }
    std::vector<double> out(static_cast<std::size_t>(n), 0.0);
    for (std::int64_t i = 0; i < n; ++i) {
        double sum = 0.0;  // the maps in their order, as one thread adds them
        for (std::int64_t s = 0; s < symmetries; ++s) sum += by_map[static_cast<std::size_t>(s * n + i)];
        out[static_cast<std::size_t>(i)] = sum / symmetries;
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
