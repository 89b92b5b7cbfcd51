// Training over several ranks on c10d (Gloo over 127.0.0.1): the ranks run here as threads of the test process,
// each with its own process group, exactly as separate processes would (the CLI test launches real ones).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <torch/torch.h>
#if __has_include(<torch/csrc/distributed/c10d/TCPStore.hpp>)
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

#include "nodulecad/core/error.hpp"
#include "nodulecad/model/checkpoint.hpp"
#include "nodulecad/model/losses.hpp"
#include "nodulecad/model/unet.hpp"
#include "nodulecad/train/rank_group.hpp"
#include "nodulecad/train/train_unet.hpp"
#include "test_util.hpp"
#include "train/ranks.hpp"
#include "train/toy_dataset.hpp"

namespace nodulecad {
namespace {

// Trains `base` as `ranks` ranks of `batch` each, rank r in run folder run_dirs[r]; returns rank 0's epochs. With
// `agent_port`, the store is the one already listening there (torchrun's agent's).
std::vector<EpochMetrics> train_as_ranks(const TrainOptions& base, int ranks, int batch, const std::vector<std::string>& run_dirs, int agent_port = 0) {
    std::vector<std::vector<EpochMetrics>> out(static_cast<std::size_t>(ranks));
    const std::vector<std::string> errors = test::run_as_ranks(ranks, [&](const WorldSpec& world) {
        TrainOptions o = base;
        o.run.batch = batch;
        o.run.run_dir = run_dirs[static_cast<std::size_t>(world.rank)];
        o.run.world = world;
        o.run.dist_timeout_s = 30;
        out[static_cast<std::size_t>(world.rank)] = train_unet(o);
    }, agent_port);
    for (int r = 0; r < ranks; ++r) EXPECT_EQ(errors[static_cast<std::size_t>(r)], "") << "rank " << r;
    return out[0];
}

// The largest difference between the two checkpoints' parameters, relative to the largest magnitude of each tensor.
double relative_difference(const std::string& a_path, const std::string& b_path) {
    ModelCard ca, cb;
    UNet a = load_checkpoint(a_path, ca), b = load_checkpoint(b_path, cb);
    const auto pa = a->parameters(), pb = b->parameters();
    EXPECT_EQ(pa.size(), pb.size());
    double worst = 0;
    for (std::size_t i = 0; i < pa.size() && i < pb.size(); ++i) {
        const double scale = std::max(1e-12, pb[i].abs().max().item<double>());
        worst = std::max(worst, (pa[i] - pb[i]).abs().max().item<double>() / scale);
    }
    return worst;
}

double relative_difference_to_initial(const std::string& a_path, const TrainOptions& o) {
    // How far training moved the weights: the equality below must be much tighter than this to mean anything.
    test::TempDir dir;
    TrainOptions zero = o;
    zero.run.run_dir = dir.path("zero");
    zero.run.epochs = 1;
    zero.run.lr = 1e-30;
    train_unet(zero);
    return relative_difference(a_path, dir.path("zero/last.pt"));
}

// 10 training samples: 2 ranks x 2 = steps of 4, 4, 2; 3 ranks x 2 = steps of 6 and 4 (the third rank has none in
// the second step). Each must end where one process with the whole step's batch ends: with the batch's soft Dice,
// and with each sample's (sample_dice_bce and sample_tversky_bce, on 16-pixel crops, some of which miss their disc).
TEST(DistributedTraining, RanksOfBatchBTrainLikeOneProcessOfBatchRanksTimesB) {
    if (!rank_groups_available()) GTEST_SKIP() << "this build has no c10d Gloo (libgloo-dev)";
    test::TempDir dir;
    test::write_toy_dataset(dir.path("toy"), 12, 1, 32);
    const auto options = [&dir](UNetLoss loss, const std::string& run) {
        TrainOptions o = test::toy_options(dir.path("toy"), run, 3);
        o.loss = loss;
        if (per_sample_loss(loss)) o.crop = 16;
        return o;
    };
    for (const UNetLoss loss : {UNetLoss::Dice, UNetLoss::SampleDiceBce, UNetLoss::SampleTverskyBce})
    for (const int ranks : {2, 3}) {
        SCOPED_TRACE(std::to_string(ranks) + " ranks, loss " + std::string(enum_name(loss, kUNetLossNames)));
        const std::string tag = std::to_string(ranks) + enum_name(loss, kUNetLossNames);
        TrainOptions one = options(loss, dir.path("one" + tag));
        one.run.batch = 2 * ranks;
        const auto single = train_unet(one);
        std::vector<std::string> runs{dir.path("dist" + tag)};
        for (int r = 1; r < ranks; ++r) runs.push_back(dir.path("dist" + tag + "_rank" + std::to_string(r)));
        const auto dist = train_as_ranks(options(loss, ""), ranks, 2, runs);
        ASSERT_EQ(dist.size(), 3u);
        const double moved = relative_difference_to_initial(dir.path("one" + tag + "/last.pt"), one);
        const double apart = relative_difference(dir.path("dist" + tag + "/last.pt"), dir.path("one" + tag + "/last.pt"));
        EXPECT_GT(moved, 0.05);
        EXPECT_LE(apart, 1e-5);
        std::cout << ranks << " ranks: weights " << apart << " apart (relative), training moved them " << moved << "\n";
        for (std::size_t e = 0; e < 3; ++e) {
            EXPECT_NEAR(dist[e].train_loss, single[e].train_loss, 1e-5 * std::abs(single[e].train_loss)) << "epoch " << e + 1;
            EXPECT_NEAR(dist[e].train_dice, single[e].train_dice, 1e-5) << "epoch " << e + 1;
            EXPECT_NEAR(dist[e].val_dice, single[e].val_dice, 1e-5) << "epoch " << e + 1;
        }
        // Rank 0 alone writes the run folder.
        for (const char* f : {"last.pt", "best.pt", "metrics.csv", "config.json"}) EXPECT_TRUE(std::filesystem::exists(runs[0] + "/" + f)) << f;
        for (int r = 1; r < ranks; ++r) EXPECT_FALSE(std::filesystem::exists(runs[static_cast<std::size_t>(r)])) << runs[static_cast<std::size_t>(r)];
    }
}

#if __has_include(<torch/csrc/distributed/c10d/TCPStore.hpp>)
// Under torchrun the agent hosts the store (TORCHELASTIC_USE_AGENT_STORE=True): every rank, rank 0 included, joins
// it as a client (a rank 0 hosting its own would find the port taken) and trains as with its own store.
TEST(DistributedTraining, JoinsTheStoreTorchrunsAgentHosts) {
    if (!rank_groups_available()) GTEST_SKIP() << "this build has no c10d Gloo (libgloo-dev)";
    test::TempDir dir;
    test::write_toy_dataset(dir.path("toy"), 12, 1, 32);
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(test::free_port());
    so.isServer = true;
    so.waitWorkers = false;
    const auto agent = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", so);
    TrainOptions one = test::toy_options(dir.path("toy"), dir.path("one"), 2);
    train_unet(one);
    train_as_ranks(test::toy_options(dir.path("toy"), "", 2), 2, 2, {dir.path("two"), dir.path("two_rank1")}, so.port);
    EXPECT_LE(relative_difference(dir.path("two/last.pt"), dir.path("one/last.pt")), 1e-5);
}
#endif

// Resume is the world size's business no more than the batch's: 2 epochs on 2 ranks, the third in one process with
// the same step batch, equals 3 epochs in one process.
TEST(DistributedTraining, ResumesInAnotherWorldSize) {
    if (!rank_groups_available()) GTEST_SKIP() << "this build has no c10d Gloo (libgloo-dev)";
    test::TempDir dir;
    test::write_toy_dataset(dir.path("toy"), 12, 1, 32);
    TrainOptions one = test::toy_options(dir.path("toy"), dir.path("one"), 3);
    train_unet(one);
    train_as_ranks(test::toy_options(dir.path("toy"), "", 2), 2, 2, {dir.path("mixed"), dir.path("mixed_rank1")});
    TrainOptions rest = test::toy_options(dir.path("toy"), dir.path("mixed"), 3);
    rest.run.resume = true;
    const auto third = train_unet(rest);
    ASSERT_EQ(third.size(), 1u);
    EXPECT_LE(relative_difference(dir.path("mixed/last.pt"), dir.path("one/last.pt")), 1e-5);
}

TEST(DistributedTraining, ABuildWithoutGlooOrAnUnreachableStoreIsAClearError) {
    test::TempDir dir;
    test::write_toy_dataset(dir.path("toy"), 12, 1, 32);
    TrainOptions o = test::toy_options(dir.path("toy"), dir.path("run"), 1);
    // Rank 1 of 2 with nobody listening at the store: it gives up after the timeout, naming itself and the address.
    o.run.world = {1, 2, 1, "127.0.0.1", test::free_port(), Launcher::Env};
    o.run.dist_timeout_s = 2;
    const std::string expected = rank_groups_available() ? "rank 1 of 2: cannot reach the rendezvous store at 127.0.0.1:" : "no c10d process group";
    test::expect_error([&] { train_unet(o); }, {expected});
    EXPECT_FALSE(std::filesystem::exists(dir.path("run")));
}

}  // namespace
}  // namespace nodulecad
