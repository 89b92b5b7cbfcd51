// The 3D detector: shapes and parameter count; both heads' losses on hand-made targets; and real learning tests — a
// ball on a tube, where a few seeded CPU training steps must put the heatmap's peak, or the segmentation's strongest
// component, on the ball, not on the tube.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "nodulecad/core/error.hpp"
#include "nodulecad/detect/heatmap_peaks.hpp"
#include "nodulecad/model/detector3d.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

TEST(Detector3d, ShapesAndParameterCount) {
    for (const Detector3dConfig c : {Detector3dConfig{}, Detector3dConfig{1, 8, 3, false}, Detector3dConfig{2, 4, 2, true}}) {
        Detector3d net(c);
        std::int64_t n = 0;
        for (const auto& p : net->parameters()) n += p.numel();
        EXPECT_EQ(n, detector3d_parameter_count(c)) << c.base_filters << " x " << c.depth;
        const torch::Tensor y = net->forward(torch::zeros({2, c.in_channels, 16, 24, 32}));
        EXPECT_EQ(y.sizes(), (std::vector<std::int64_t>{2, 2, 16, 24, 32}));
    }
    EXPECT_EQ(detector3d_parameter_count(Detector3dConfig{}), 1461010);
    // The heads start at the prior: p = 0.01 and 6 mm (their biases).
    Detector3d fresh(Detector3dConfig{1, 4, 2, false});
    const auto params = fresh->named_parameters();
    EXPECT_NEAR(torch::sigmoid(params["heat.bias"]).item<double>(), 0.01, 1e-6);
    EXPECT_NEAR(std::exp(params["size.bias"].item<double>()), 6.0, 1e-5);
    EXPECT_THROW(Detector3d{Detector3dConfig({1, 0, 3, false})}, OptionError);
}

TEST(Detector3d, TheGlassWindowIsTheLowerHalfStretched) {
    // Input values -1..1 are the grid's window (-1000..400 HU by default): the second channel maps -1..0 (-1000..-300
    // HU) to -1..1 and saturates above; the first channel is the input untouched.
    const torch::Tensor x = torch::tensor({-1.f, -0.75f, -0.5f, -0.1f, 0.f, 0.4f, 1.f}).reshape({1, 1, 1, 1, 7});
    EXPECT_TRUE(torch::equal(detector3d_input(x, Detector3dInput::Lung), x));
    const torch::Tensor y = detector3d_input(x, Detector3dInput::LungAndGlass);
    ASSERT_EQ(y.sizes(), (std::vector<std::int64_t>{1, 2, 1, 1, 7}));
    EXPECT_TRUE(torch::equal(y.select(1, 0), x.select(1, 0)));
    const std::vector<float> glass = {-1.f, -0.5f, 0.f, 0.8f, 1.f, 1.f, 1.f};
    for (std::int64_t i = 0; i < 7; ++i) EXPECT_NEAR(y[0][1][0][0][i].item<float>(), glass[static_cast<std::size_t>(i)], 1e-6) << i;
    // -550 HU (ground glass) and -850 HU (parenchyma) as the grid stores them: twice the difference in the second channel.
    const auto unit = [](double hu) { return static_cast<float>((hu + 1000) / 1400 * 2 - 1); };
    const torch::Tensor two = detector3d_input(torch::tensor({unit(-850), unit(-550)}).reshape({1, 1, 1, 1, 2}), Detector3dInput::LungAndGlass);
    const float wide = (two[0][0][0][0][1] - two[0][0][0][0][0]).item<float>(), narrow = (two[0][1][0][0][1] - two[0][1][0][0][0]).item<float>();
    EXPECT_NEAR(narrow, 2 * wide, 1e-5);

    // One more input channel in the first convolution: 27 weights per filter; the network takes one channel still.
    Detector3dConfig c;
    c.input = Detector3dInput::LungAndGlass;
    EXPECT_EQ(c.network_channels(), 2);
    EXPECT_EQ(detector3d_parameter_count(c), 1461010 + 27 * 16);
    Detector3d net(Detector3dConfig{1, 4, 2, true, Detector3dInput::LungAndGlass});
    std::int64_t n = 0;
    for (const auto& p : net->parameters()) n += p.numel();
    EXPECT_EQ(n, detector3d_parameter_count(net->config()));
    EXPECT_EQ(net->forward(torch::zeros({1, 1, 8, 8, 8})).sizes(), (std::vector<std::int64_t>{1, 2, 8, 8, 8}));

    // The card carries it; a card without it (written before it existed) is the lung window alone.
    Detector3dCard card;
    card.net = net->config();
    EXPECT_EQ(Detector3dCard::from_json(card.to_json(), "x").net.input, Detector3dInput::LungAndGlass);
    card.net.input = Detector3dInput::Lung;
    EXPECT_EQ(card.to_json().find("input"), std::string::npos);
    EXPECT_EQ(Detector3dCard::from_json(card.to_json(), "x").net.input, Detector3dInput::Lung);
}

TEST(Detector3d, TheLungMaskIsASecondChannelTheCallerFeeds) {
    Detector3dConfig c;
    c.input = Detector3dInput::LungAndMask;
    EXPECT_TRUE(c.needs_lung_mask());
    EXPECT_EQ(c.fed_channels(), 2);
    EXPECT_EQ(c.network_channels(), 2);
    EXPECT_EQ(detector3d_parameter_count(c), 1461010 + 27 * 16);
    EXPECT_FALSE(Detector3dConfig{}.needs_lung_mask());
    EXPECT_EQ(Detector3dConfig{}.fed_channels(), 1);
    const torch::Tensor x = torch::rand({1, 2, 2, 2, 2});
    EXPECT_TRUE(torch::equal(detector3d_input(x, Detector3dInput::LungAndMask), x));  // passed through, not computed

    Detector3d net(Detector3dConfig{1, 4, 2, true, Detector3dInput::LungAndMask});
    std::int64_t n = 0;
    for (const auto& p : net->parameters()) n += p.numel();
    EXPECT_EQ(n, detector3d_parameter_count(net->config()));
    EXPECT_EQ(net->forward(torch::zeros({1, 2, 8, 8, 8})).sizes(), (std::vector<std::int64_t>{1, 2, 8, 8, 8}));
    // The scan alone is refused with the shape it needs, not a convolution's error.
    test::expect_error([&] { net->forward(torch::zeros({1, 1, 8, 8, 8})); }, {"(batch, 2, z, y, x)", "1 channels"});

    Detector3dCard card;
    card.net = net->config();
    EXPECT_EQ(Detector3dCard::from_json(card.to_json(), "x").net.input, Detector3dInput::LungAndMask);
    EXPECT_NE(card.to_json().find("lung+mask"), std::string::npos);
}

TEST(Detector3d, LossIsSmallOnlyForTheRightMap) {
    // One centre voxel in a 4^3 patch with a Gaussian around it; a prediction that draws it scores better than one
    // that draws nothing or one that puts the centre elsewhere; the size term counts at the centre only.
    torch::Tensor heat = torch::zeros({1, 1, 4, 4, 4}), logd = torch::full({1, 1, 4, 4, 4}, std::log(8.0));
    heat.index_put_({0, 0, 1, 1, 1}, 1.0);
    heat.index_put_({0, 0, 1, 1, 2}, 0.6);
    const auto out = [&](const torch::Tensor& p, double diameter) {
        return torch::cat({torch::logit(p.clamp(1e-4, 1 - 1e-4)), torch::full_like(p, std::log(diameter))}, 1);
    };
    const double right = detector3d_loss(out(heat, 8), heat, logd).item<double>();
    const double empty = detector3d_loss(out(torch::zeros_like(heat), 8), heat, logd).item<double>();
    torch::Tensor moved = torch::zeros_like(heat);
    moved.index_put_({0, 0, 3, 3, 3}, 1.0);
    const double wrong = detector3d_loss(out(moved, 8), heat, logd).item<double>();
    EXPECT_LT(right, 0.01);
    EXPECT_GT(empty, 5);
    EXPECT_GT(wrong, empty);
    // Size: 8 mm predicted as 16 mm costs size_weight * log 2 at the one centre voxel.
    EXPECT_NEAR(detector3d_loss(out(heat, 16), heat, logd).item<double>() - right, 0.1 * std::log(2.0), 1e-3);
}

TEST(Detector3d, SegmentationLossIsSmallOnlyForTheRightMask) {
    // A 2x2x2 ball in a 6^3 patch: drawing it scores far better than drawing nothing or drawing it elsewhere; the
    // size term counts inside the ball, once per voxel there (a mean).
    torch::Tensor mask = torch::zeros({1, 1, 6, 6, 6}), logd = torch::full({1, 1, 6, 6, 6}, std::log(8.0));
    mask.index_put_({0, 0, torch::indexing::Slice(1, 3), torch::indexing::Slice(1, 3), torch::indexing::Slice(1, 3)}, 1.0);
    const auto out = [&](const torch::Tensor& p, double diameter) {
        return torch::cat({torch::logit(p.clamp(1e-4, 1 - 1e-4)), torch::full_like(p, std::log(diameter))}, 1);
    };
    const double right = detector3d_segmentation_loss(out(mask, 8), mask, logd).item<double>();
    const double empty = detector3d_segmentation_loss(out(torch::zeros_like(mask), 8), mask, logd).item<double>();
    const double moved = detector3d_segmentation_loss(out(mask.roll({3, 3, 3}, {2, 3, 4}), 8), mask, logd).item<double>();
    EXPECT_LT(right, 0.01);
    EXPECT_GT(empty, 0.9);  // 1 - Dice alone is about 1
    EXPECT_GT(moved, empty);
    EXPECT_NEAR(detector3d_segmentation_loss(out(mask, 16), mask, logd).item<double>() - right, 0.1 * std::log(2.0), 1e-3);
}

// A 24^3 patch at 1 mm: a tube (radius 1.5 mm) along a random direction and a ball (radius 2.5-3.5 mm) of the same
// brightness somewhere else, touching the tube in a third of the samples; noise. Target: a Gaussian (sigma 1.5
// voxels) at the ball's centre voxel, its log-diameter everywhere; for the segmentation head, the ball.
struct Sample {
    torch::Tensor x, heat, logd, mask;  // mask: the ball (the segmentation head's target)
    std::array<std::int64_t, 3> centre{};
    std::vector<std::array<std::int64_t, 3>> tube;  // tube voxels far from the ball
};

Sample draw_sample(std::mt19937& rng) {
    constexpr int S = 24;
    std::uniform_real_distribution<double> u(0, 1);
    const double r = 2.5 + u(rng);
    std::array<double, 3> c{}, p{}, d{};
    for (int a = 0; a < 3; ++a) c[a] = 6 + u(rng) * 12;
    double len = 0;
    for (int a = 0; a < 3; ++a) d[a] = u(rng) - 0.5, len += d[a] * d[a];
    for (int a = 0; a < 3; ++a) d[a] /= std::sqrt(len);
    // The tube passes at 1.5 + r (touching) or 6-9 mm from the ball's centre, along a direction off the ball.
    const double gap = u(rng) < 0.33 ? r + 1.5 : 6 + 3 * u(rng);
    std::array<double, 3> off{d[1], -d[0], 0};
    double ol = std::hypot(off[0], off[1]);
    if (ol < 1e-3) off = {1, 0, 0}, ol = 1;
    for (int a = 0; a < 3; ++a) p[a] = c[a] + gap * off[a] / ol;
    Sample s;
    s.x = torch::zeros({1, S, S, S});
    s.heat = torch::zeros({1, S, S, S});
    s.logd = torch::full({1, S, S, S}, std::log(2 * r));
    s.mask = torch::zeros({1, S, S, S});
    auto x = s.x.accessor<float, 4>();
    auto h = s.heat.accessor<float, 4>();
    auto m = s.mask.accessor<float, 4>();
    std::normal_distribution<double> noise(0, 0.05);
    for (int a = 0; a < 3; ++a) s.centre[a] = std::lround(c[a]);
    for (int k = 0; k < S; ++k)
        for (int j = 0; j < S; ++j)
            for (int i = 0; i < S; ++i) {
                const std::array<double, 3> v{static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)};
                const double db = std::hypot(v[0] - c[0], v[1] - c[1], v[2] - c[2]);
                double t = 0;
                for (int a = 0; a < 3; ++a) t += (v[a] - p[a]) * d[a];
                const double dt = std::hypot(v[0] - p[0] - t * d[0], v[1] - p[1] - t * d[1], v[2] - p[2] - t * d[2]);
                const bool in = db <= r || dt <= 1.5;
                x[0][k][j][i] = static_cast<float>((in ? 1.0 : 0.0) + noise(rng));
                const double dc = std::hypot(v[0] - static_cast<double>(s.centre[0]), v[1] - static_cast<double>(s.centre[1]), v[2] - static_cast<double>(s.centre[2]));
                h[0][k][j][i] = static_cast<float>(std::exp(-dc * dc / (2 * 1.5 * 1.5)));
                m[0][k][j][i] = db <= r ? 1.f : 0.f;
                if (dt <= 1.5 && db > r + 3) s.tube.push_back({i, j, k});
            }
    return s;
}

// A fresh network (seeded) after 120 Adam steps of batch 4 on fresh samples, with the head's loss and target; its
// loss must halve. Returned in eval mode.
Detector3d train_on_balls_and_tubes(std::mt19937& rng, Detector3dHead head) {
    Detector3d net(Detector3dConfig{1, 8, 3, true});
    torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(3e-3));
    net->train();
    const bool seg = head == Detector3dHead::Segmentation;
    double first = 0, last = 0;
    constexpr int kSteps = 120, kBatch = 4;
    for (int step = 0; step < kSteps; ++step) {
        std::vector<torch::Tensor> xs, ts, ls;
        for (int b = 0; b < kBatch; ++b) {
            Sample s = draw_sample(rng);
            xs.push_back(s.x), ts.push_back(seg ? s.mask : s.heat), ls.push_back(s.logd);
        }
        opt.zero_grad();
        const torch::Tensor out = net->forward(torch::stack(xs));
        const torch::Tensor loss = seg ? detector3d_segmentation_loss(out, torch::stack(ts), torch::stack(ls)) : detector3d_loss(out, torch::stack(ts), torch::stack(ls));
        loss.backward();
        opt.step();
        if (step < 10) first += loss.item<double>() / 10;
        if (step >= kSteps - 10) last += loss.item<double>() / 10;
    }
    EXPECT_LT(last, 0.5 * first) << "loss " << first << " -> " << last;
    net->eval();
    return net;
}

TEST(Detector3d, LearnsTheBallNotTheTube) {
    torch::manual_seed(7);
    std::mt19937 rng(11);
    Detector3d net = train_on_balls_and_tubes(rng, Detector3dHead::Heatmap);

    // Fresh samples: the heatmap's maximum is at the ball, and the ball's centre outshines every tube voxel.
    torch::NoGradGuard no_grad;
    int on_ball = 0, above_tube = 0;
    constexpr int kTests = 12;
    for (int n = 0; n < kTests; ++n) {
        const Sample s = draw_sample(rng);
        const torch::Tensor p = torch::sigmoid(net->forward(s.x.unsqueeze(0)).select(1, 0))[0];
        const std::int64_t at = p.argmax().item<std::int64_t>();
        const std::int64_t S = p.size(2), i = at % S, j = (at / S) % S, k = at / (S * S);
        if (std::abs(i - s.centre[0]) <= 2 && std::abs(j - s.centre[1]) <= 2 && std::abs(k - s.centre[2]) <= 2) ++on_ball;
        auto pa = p.accessor<float, 3>();
        const float centre = pa[s.centre[2]][s.centre[1]][s.centre[0]];
        float tube = 0;
        for (const auto& v : s.tube) tube = std::max(tube, pa[v[2]][v[1]][v[0]]);
        if (centre > tube) ++above_tube;
    }
    EXPECT_GE(on_ball, kTests - 1) << on_ball;
    EXPECT_GE(above_tube, kTests - 1) << above_tube;
}

// The segmentation head on the same task: its components at 0.5 (segmentation_components) put the strongest one on
// the ball and none on the tube far from it, after as many seeded CPU steps.
TEST(Detector3d, SegmentationHeadLearnsTheBallNotTheTube) {
    torch::manual_seed(7);
    std::mt19937 rng(11);
    Detector3d net = train_on_balls_and_tubes(rng, Detector3dHead::Segmentation);
    torch::NoGradGuard no_grad;
    int on_ball = 0, tube_clear = 0;
    constexpr int kTests = 12;
    for (int n = 0; n < kTests; ++n) {
        const Sample s = draw_sample(rng);
        const torch::Tensor p = torch::sigmoid(net->forward(s.x.unsqueeze(0)).select(1, 0))[0].contiguous();
        Geometry g;
        g.size = {p.size(2), p.size(1), p.size(0)};
        Volume<float> prob(g, 0.f);
        std::copy(p.data_ptr<float>(), p.data_ptr<float>() + p.numel(), prob.voxels.begin());
        const auto found = segmentation_components("s", prob, PeakOptions{});
        if (!found.empty()) {
            const Vec3& w = found[0].candidate.world;  // identity geometry: world = index
            if (std::hypot(w[0] - static_cast<double>(s.centre[0]), w[1] - static_cast<double>(s.centre[1]), w[2] - static_cast<double>(s.centre[2])) <= 2)
                ++on_ball;
        }
        const auto pa = p.accessor<float, 3>();
        float tube = 0;
        for (const auto& v : s.tube) tube = std::max(tube, pa[v[2]][v[1]][v[0]]);
        if (tube < 0.5) ++tube_clear;
    }
    EXPECT_GE(on_ball, kTests - 1) << on_ball;
    EXPECT_GE(tube_clear, kTests - 1) << tube_clear;
}

}  // namespace
}  // namespace nodulecad
