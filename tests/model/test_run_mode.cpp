// How networks run on their device (model/run_mode): on a CPU fp32 and channels-last; channels-last gives the same
// outputs; the autocast scope nests and restores. The CUDA side (bf16 speed and agreement) is checked on a GPU
// machine by scripts/gpu-check.sh.
#include <gtest/gtest.h>

#include <thread>

#include "nodulecad/core/error.hpp"
#include "nodulecad/model/device.hpp"
#include "nodulecad/model/run_mode.hpp"
#include "nodulecad/model/unet.hpp"

namespace nodulecad {
namespace {

TEST(ComputeThreads, ScopeHoldsItsCountForNewThreadsAndPutsTheOldOneBack) {
    set_compute_threads(2);
    {
        const ComputeThreadsScope one(1);
        EXPECT_EQ(torch::get_num_threads(), 1);
        int in_worker = 0;
        std::thread([&] { in_worker = torch::get_num_threads(); }).join();
        EXPECT_EQ(in_worker, 1);  // what predict's slice workers rely on: one compute thread each
        {
            const ComputeThreadsScope three(3);
            EXPECT_EQ(torch::get_num_threads(), 3);
        }
        EXPECT_EQ(torch::get_num_threads(), 1);
    }
    EXPECT_EQ(torch::get_num_threads(), 2);
    int after = 0;
    std::thread([&] { after = torch::get_num_threads(); }).join();
    EXPECT_EQ(after, 2);
}

TEST(RunMode, CudnnAutotuneSearchesForFixedShapesOnlyUnlessTheVariableSaysOtherwise) {
    EXPECT_TRUE(cudnn_autotune_wanted(nullptr, ShapeRegime::Fixed));
    EXPECT_FALSE(cudnn_autotune_wanted(nullptr, ShapeRegime::Varying));
    for (ShapeRegime shapes : {ShapeRegime::Fixed, ShapeRegime::Varying}) {
        EXPECT_TRUE(cudnn_autotune_wanted("1", shapes));
        EXPECT_FALSE(cudnn_autotune_wanted("0", shapes));
        EXPECT_THROW(cudnn_autotune_wanted("off", shapes), Error);
        EXPECT_THROW(cudnn_autotune_wanted("", shapes), Error);
    }
}

TEST(RunMode, CpuRunsFp32AndChannelsLast) {
    const RunMode m = run_mode(torch::kCPU, true);
    EXPECT_FALSE(m.bf16_autocast);
    EXPECT_TRUE(m.channels_last);
    UNet net(UNetConfig{1, 4, 3, true});
    apply_memory_format(*net, m);
    int four_d = 0;
    for (const auto& p : net->parameters())
        if (p.dim() == 4) {
            ++four_d;
            EXPECT_TRUE(p.is_contiguous(at::MemoryFormat::ChannelsLast));
        }
    EXPECT_EQ(four_d, 11);  // 5 double convolutions and the head
    const torch::Tensor x = torch::rand({2, 1, 32, 32});
    EXPECT_TRUE(as_input(x, m).is_contiguous(at::MemoryFormat::ChannelsLast));
    const torch::Tensor cube = torch::rand({2, 1, 8, 8, 8});
    EXPECT_TRUE(as_input(cube, m).is_same(cube));  // the 3D networks keep their layout
    {
        AutocastScope scope(m);
        EXPECT_FALSE(cuda_autocast_enabled());
    }
}

TEST(RunMode, ChannelsLastGivesTheSameOutputs) {
    torch::manual_seed(3);
    UNet net(UNetConfig{3, 4, 3, true});
    net->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor x = torch::rand({2, 3, 32, 32});
    const torch::Tensor before = net->forward(x);
    RunMode m;
    m.channels_last = true;
    apply_memory_format(*net, m);
    int four_d = 0;
    for (const auto& p : net->parameters())
        if (p.dim() == 4) {
            ++four_d;
            EXPECT_TRUE(p.is_contiguous(at::MemoryFormat::ChannelsLast));
        }
    EXPECT_EQ(four_d, 2 * 3 + 2 * 2 + 1);  // two convolutions on each of 3 levels down and 2 up, and the 1x1 head
    const torch::Tensor xi = as_input(x, m);
    EXPECT_TRUE(xi.is_contiguous(at::MemoryFormat::ChannelsLast));
    const torch::Tensor after = net->forward(xi);
    EXPECT_TRUE(torch::allclose(before, after.contiguous(), 1e-5, 1e-6));
}

TEST(RunMode, UpsamplingKeepsDtypeAndLayoutWithUpsampleNearest2dValues) {
    torch::manual_seed(4);
    for (const auto format : {at::MemoryFormat::Contiguous, at::MemoryFormat::ChannelsLast})
        for (const auto dtype : {torch::kFloat, torch::kBFloat16}) {
            const torch::Tensor x = torch::randn({2, 5, 4, 6}).to(dtype).contiguous(format);
            const torch::Tensor y = upsample2x_nearest(x);
            EXPECT_EQ(y.sizes(), (std::vector<std::int64_t>{2, 5, 8, 12}));
            EXPECT_EQ(y.scalar_type(), dtype);
            EXPECT_TRUE(y.is_contiguous(format));
            const torch::Tensor expected = torch::upsample_nearest2d(x.to(torch::kFloat), {8, 12});
            EXPECT_TRUE(torch::equal(y.to(torch::kFloat).contiguous(), expected.contiguous()));
            EXPECT_EQ(y[1][3][5][7].item<float>(), x[1][3][2][3].item<float>());
        }
    // The gradient is the 2x2 sum, as upsample_nearest2d's.
    const torch::Tensor g = torch::randn({2, 5, 8, 12});
    torch::Tensor a = torch::randn({2, 5, 4, 6}, torch::requires_grad());
    torch::Tensor b = a.detach().clone().requires_grad_(true);
    (upsample2x_nearest(a) * g).sum().backward();
    (torch::upsample_nearest2d(b, {8, 12}) * g).sum().backward();
    EXPECT_TRUE(torch::allclose(a.grad(), b.grad(), 1e-6, 1e-6));
    EXPECT_NEAR(a.grad()[0][0][0][0].item<float>(), g.slice(2, 0, 2).slice(3, 0, 2)[0][0].sum().item<float>(), 1e-5);
}

TEST(RunMode, AutocastScopeNestsAndRestores) {
    RunMode m;
    m.bf16_autocast = true;  // as on CUDA; here it only flips the thread's CUDA autocast state
    EXPECT_FALSE(cuda_autocast_enabled());
    {
        AutocastScope outer(m);
        EXPECT_TRUE(cuda_autocast_enabled());
        {
            AutocastScope inner(m);
            EXPECT_TRUE(cuda_autocast_enabled());
        }
        EXPECT_TRUE(cuda_autocast_enabled());  // the inner scope restored the outer's state
    }
    EXPECT_FALSE(cuda_autocast_enabled());
    EXPECT_EQ(run_mode(torch::Device(torch::kCUDA), true).bf16_autocast, true);  // a device value; no GPU needed
    EXPECT_EQ(run_mode(torch::Device(torch::kCUDA), false).channels_last, false);
}

}  // namespace
}  // namespace nodulecad
