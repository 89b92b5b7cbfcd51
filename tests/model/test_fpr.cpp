// The false-positive-reduction network: shape, checkpoints, training on a toy set, rescoring candidates.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "nodulecad/core/files.hpp"
#include "nodulecad/detect/fpr_score.hpp"
#include "nodulecad/io/csv.hpp"
#include "nodulecad/model/checkpoint.hpp"
#include "nodulecad/model/device.hpp"
#include "nodulecad/model/fpr_net.hpp"
#include "nodulecad/model/unet.hpp"
#include "nodulecad/synth/cohort.hpp"
#include "synth/cohort_fixture.hpp"
#include "test_util.hpp"
#include "nodulecad/train/rank_group.hpp"
#include "nodulecad/train/train_fpr.hpp"
#include "train/ranks.hpp"

namespace nodulecad {
namespace {

int read_fpr_card_symmetries(const std::string& path) { return FprCard::from_json(read_card_text(path), path).symmetries; }

TEST(FprNet, ParametersAndShapes) {
    for (const FprArch arch : {FprArch::Views25d, FprArch::Cube3d})
        for (int w : {4, 16}) {
            FprNetConfig c;
            c.arch = arch;
            c.width = w;
            FprNet m(c);
            std::int64_t n = 0;
            for (const auto& p : m->parameters()) n += p.numel();
            EXPECT_EQ(n, fpr_parameter_count(c)) << enum_name(arch, kFprArchNames) << " width " << w;
        }
    // Width 16 by hand: 2.5d, one 2D trunk (72,528) and a head on 3 x 64 features (12,417); 3d, two 3D trunks
    // (27 taps instead of 9: 215,376 each) and a head on 2 x 64 features (8,321).
    EXPECT_EQ(fpr_parameter_count(FprNetConfig{FprArch::Views25d, 16, 0.3}), 84'945);
    EXPECT_EQ(fpr_parameter_count(FprNetConfig{FprArch::Cube3d, 16, 0.3}), 439'073);
    PatchOptions patch;
    patch.patch = 16;
    FprNet m(FprNetConfig{FprArch::Views25d, 4, 0.3});
    m->eval();
    EXPECT_EQ(fpr_batch_shape(m->config(), patch, 5), (std::vector<std::int64_t>{5, 9, 16, 16}));
    EXPECT_EQ(m->forward(torch::rand({5, 9, 16, 16})).sizes(), (std::vector<std::int64_t>{5}));
    FprNet cube(FprNetConfig{FprArch::Cube3d, 4, 0.3});
    cube->eval();
    EXPECT_EQ(fpr_batch_shape(cube->config(), patch, 3), (std::vector<std::int64_t>{3, 1, 16, 16, 16}));
    EXPECT_EQ(fpr_input_floats(cube->config(), patch), 16u * 16u * 16u);
    EXPECT_EQ(cube->forward(torch::rand({3, 1, 16, 16, 16})).sizes(), (std::vector<std::int64_t>{3}));
    // The 3d network's two scales need a patch that halves into three poolings.
    patch.patch = 18;
    test::expect_error([&] { cube->config().check_patch(patch); }, {"patch", "must be a multiple of 4 of at least 16 for the 3d false-positive reduction, got 18"});
    patch.patch = 12;
    test::expect_error([&] { cube->config().check_patch(patch); }, {"got 12"});
    m->config().check_patch(patch);  // 2.5d takes any even patch
}

// The 3d network looks at the context: its half-resolution scale sees what lies outside the central (P/2)^3.
TEST(FprNet, TheCubeNetworkSeesTwoScales) {
    torch::manual_seed(3);
    FprNet m(FprNetConfig{FprArch::Cube3d, 4, 0.0});
    m->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor x = torch::rand({1, 1, 16, 16, 16});
    using torch::indexing::Slice;
    torch::Tensor outside = x.clone();  // a corner block, outside the central 8^3 (4..11): only the context trunk sees it
    outside.index_put_({0, 0, Slice(0, 4), Slice(0, 4), Slice(0, 4)}, 1.0);
    torch::Tensor inside = x.clone();  // a block in the centre: both see it
    inside.index_put_({0, 0, Slice(6, 10), Slice(6, 10), Slice(6, 10)}, 1.0);
    const double base = m->forward(x).item<double>();
    EXPECT_GT(std::abs(m->forward(outside).item<double>() - base), 1e-6);  // the centre trunk alone would give exactly base
    EXPECT_GT(std::abs(m->forward(inside).item<double>() - base), 1e-6);
}

TEST(FprNet, CheckpointRoundTripAndWrongKinds) {
    test::TempDir dir;
    torch::manual_seed(4);
    FprNet m(FprNetConfig{FprArch::Views25d, 4, 0.2});
    m->eval();
    FprCard card;
    card.net = m->config();
    card.patch.patch = 16;
    card.epoch = 3;
    save_fpr_checkpoint(dir.path("f.pt"), m, card, nullptr);
    FprCard back;
    FprNet l = load_fpr_checkpoint(dir.path("f.pt"), back);
    l->eval();
    EXPECT_EQ(back.patch.patch, 16);
    EXPECT_EQ(back.epoch, 3);
    EXPECT_EQ(back.symmetries, 1);
    card.symmetries = 8;
    EXPECT_EQ(FprCard::from_json(card.to_json(), "card").symmetries, 8);
    // Cards from before the 3d network have no "arch": they are 2.5d.
    std::string old = card.to_json();
    const std::string arch = "\"arch\":\"2.5d\",";
    ASSERT_NE(old.find(arch), std::string::npos);
    old.erase(old.find(arch), arch.size());
    EXPECT_EQ(FprCard::from_json(old, "card").net.arch, FprArch::Views25d);
    card.net.arch = FprArch::Cube3d;
    EXPECT_EQ(FprCard::from_json(card.to_json(), "card").net.arch, FprArch::Cube3d);
    card.net.arch = FprArch::Views25d;
    card.symmetries = 16;
    EXPECT_EQ(FprCard::from_json(card.to_json(), "card").symmetries, 16);
    card.symmetries = 17;
    test::expect_error([&] { (void)FprCard::from_json(card.to_json(), "card"); }, {"card", "symmetries must be between 1 and 16, got 17"});
    const torch::Tensor x = torch::rand({2, 9, 16, 16});
    EXPECT_TRUE(torch::equal(m->forward(x), l->forward(x)));
    // A U-Net is not an FPR model, and the other way round.
    UNet u(UNetConfig{1, 2, 2, false});
    save_checkpoint(dir.path("u.pt"), u, ModelCard{}, nullptr);
    test::expect_error([&] { load_fpr_checkpoint(dir.path("u.pt"), back); }, {"u.pt", "not a false-positive-reduction model"});
    ModelCard mc;
    test::expect_error([&] { load_checkpoint(dir.path("f.pt"), mc); }, {"f.pt", "fpr model, not a U-Net"});
}

// Test-time augmentation: the mean over the axial plane's quarter turns and mirrors (8), and the same upside down
// (16), through the same exact maps training draws.
TEST(FprNet, SymmetriesAverageTheTurnsAndMirrorsOfTheAxialPlane) {
    for (const FprArch arch : {FprArch::Views25d, FprArch::Cube3d}) {
        SCOPED_TRACE(enum_name(arch, kFprArchNames));
        torch::manual_seed(9);
        FprNet m(FprNetConfig{arch, 4, 0.3});
        PatchOptions patch;
        patch.patch = 16;
        const int D = patch.cube();
        const std::size_t bytes = static_cast<std::size_t>(D * D * D);
        std::vector<std::uint8_t> cubes(2 * bytes);
        Rng rng(2);
        for (std::size_t n = 0; n < bytes; ++n) cubes[n] = static_cast<std::uint8_t>(rng.integer(0, 255));
        // Cube 1: a ball on the centre voxel, unchanged by every turn and mirror.
        const double c = (D - 1) / 2.0;
        for (int z = 0; z < D; ++z)
            for (int y = 0; y < D; ++y)
                for (int x = 0; x < D; ++x)
                    cubes[bytes + static_cast<std::size_t>((z * D + y) * D + x)] = std::hypot(x - c, y - c, z - c) < 4.5 ? 220 : 20;
        const torch::Device cpu(torch::kCPU);
        const std::vector<double> one = fpr_probabilities(m, cubes.data(), 2, patch, cpu, 64, 1);
        const std::vector<double> eight = fpr_probabilities(m, cubes.data(), 2, patch, cpu, 64, 8);
        const std::vector<double> sixteen = fpr_probabilities(m, cubes.data(), 2, patch, cpu, 64, 16);
        // By hand for the random cube: turns 0-3, then the same with x mirrored, then all of those with z mirrored.
        const std::int64_t P = patch.patch;
        std::vector<float> input(fpr_input_floats(m->config(), patch));
        double sum = 0, sum8 = 0;
        for (int s = 0; s < 16; ++s) {
            if (s == 8) sum8 = sum;
            Augment a;
            a.rotate = s % 4;
            a.flip[0] = s % 8 >= 4;
            a.flip[2] = s >= 8;
            if (arch == FprArch::Cube3d)
                cube_crop(cubes.data(), patch, a, input.data());
            else
                cube_views(cubes.data(), patch, a, input.data());
            torch::NoGradGuard no_grad;
            const std::vector<std::int64_t> shape = arch == FprArch::Cube3d ? std::vector<std::int64_t>{1, 1, P, P, P} : std::vector<std::int64_t>{1, 9, P, P};
            sum += torch::sigmoid(m->forward(torch::from_blob(input.data(), shape))).item<double>();
        }
        EXPECT_NEAR(eight[0], sum8 / 8, 1e-6);
        EXPECT_NEAR(sixteen[0], sum / 16, 1e-6);
        EXPECT_GT(std::abs(eight[0] - one[0]), 1e-6);      // the maps do change the random cube's views
        // The upside-down maps too: were they the first eight again, the two means (doubles of the same float
        // outputs) would be equal to the last bit; the random network answers them about 1e-7 apart.
        EXPECT_GT(std::abs(sixteen[0] - eight[0]), 1e-9);
        EXPECT_NEAR(eight[1], one[1], 1e-6);               // and not the ball's
        EXPECT_NEAR(sixteen[1], one[1], 1e-6);
        test::expect_error([&] { (void)fpr_probabilities(m, cubes.data(), 2, patch, cpu, 64, 17); }, {"symmetries must be between 1 and 16, got 17"});
    }
}

// On a CPU the batches and maps run on workers of one compute thread each: the probabilities are those of one
// thread running them all, for any batch split, and the process's compute threads are as before afterwards.
TEST(FprNet, WorkersGiveTheProbabilitiesOfOneThread) {
    for (const FprArch arch : {FprArch::Views25d, FprArch::Cube3d}) {
        SCOPED_TRACE(enum_name(arch, kFprArchNames));
        torch::manual_seed(5);
        FprNet m(FprNetConfig{arch, 4, 0.3});
        PatchOptions patch;
        patch.patch = 16;
        const std::size_t bytes = static_cast<std::size_t>(patch.cube() * patch.cube() * patch.cube());
        const std::int64_t n = 7;
        std::vector<std::uint8_t> cubes(static_cast<std::size_t>(n) * bytes);
        Rng rng(3);
        for (auto& v : cubes) v = static_cast<std::uint8_t>(rng.integer(0, 255));
        const torch::Device cpu(torch::kCPU);
        set_compute_threads(2);
        std::vector<double> single;
        {
            const ComputeThreadsScope one_thread(1);
            single = fpr_probabilities(m, cubes.data(), n, patch, cpu, 64, 8, 1);
        }
        for (const int batch : {64, 3, 1}) {
            SCOPED_TRACE("batch " + std::to_string(batch));
            const std::vector<double> workers = fpr_probabilities(m, cubes.data(), n, patch, cpu, batch, 8, 2);
            EXPECT_EQ(torch::get_num_threads(), 2);
            ASSERT_EQ(workers.size(), single.size());
            for (std::size_t i = 0; i < single.size(); ++i) EXPECT_NEAR(workers[i], single[i], 1e-6) << i;
        }
        EXPECT_TRUE(fpr_probabilities(m, cubes.data(), n, patch, cpu, 64, 8, 2) == single);  // same batches: the same bits
        EXPECT_GT(std::abs(single[0] - single[1]), 1e-6);                                    // the cubes' own values, not one
        test::expect_error([&] { (void)fpr_probabilities(m, cubes.data(), n, patch, cpu, 0, 8, 2); }, {"batch"});
    }
}

// A small cohort; candidates: each nodule centre (jittered) and points 15-25 mm away from it.
struct Toy {
    test::TempDir dir;
    std::string cohort, candidates;
    Toy() {
        const CohortOptions co = test::small_cohort(dir.path("cohort"), 4, 21, 0.5, 2);
        write_cohort(co);
        cohort = co.out_dir;
        std::vector<Candidate> c;
        Rng rng(5);
        for (const auto& a : read_annotations(dir.path("cohort/annotations.csv"))) {
            c.push_back({a.seriesuid, {a.world[0] + rng.uniform(-1, 1), a.world[1], a.world[2]}, 0.9});
            for (int n = 0; n < 4; ++n)
                c.push_back({a.seriesuid, {a.world[0] + rng.uniform(15, 25) * (n % 2 ? 1 : -1), a.world[1] + rng.uniform(-10, 10), a.world[2] + rng.uniform(-5, 5)}, 0.8});
        }
        candidates = dir.path("cands.csv");
        write_results(candidates, c);
    }
};
const Toy& toy() {
    static Toy t;
    return t;
}

FprTrainOptions toy_options(const std::string& out, int epochs) {
    FprTrainOptions o;
    o.set.data_dir = toy().cohort;
    o.set.candidates = toy().candidates;
    o.run.run_dir = out;
    o.set.patch.patch = 16;
    o.set.patch.patch_mm = 1.5;
    o.set.patch.max_shift = 2;
    o.set.val_fraction = 0.25;
    o.run.seed = 3;
    o.set.threads = 2;
    o.net.width = 4;
    o.run.epochs = epochs;
    o.run.batch = 16;
    o.run.lr = 3e-3;
    o.run.device = "cpu";
    return o;
}

TEST(TrainFpr, LossGoesDownAndEveryEpochIsScored) {
    test::TempDir dir;
    FprTrainOptions o = toy_options(dir.path("run"), 20);
    o.run.lr_schedule = LrSchedule::Constant;  // the toy set is tiny: at a full rate for 20 epochs the loss must fall far
    const FprTrainResult r = train_fpr(o);
    ASSERT_EQ(r.epochs.size(), 20u);
    EXPECT_GT(r.set.positives, 0);
    EXPECT_GT(r.set.negatives, r.set.positives / 2);
    EXPECT_LT(r.epochs.back().train_loss, 0.8 * r.epochs.front().train_loss);
    for (const auto& m : r.epochs) {
        EXPECT_GE(m.val_auc, 0.0);
        EXPECT_LE(m.val_auc, 1.0);
        EXPECT_GE(m.cpm_before, 0.0);
        EXPECT_GE(m.cpm_after, 0.0);
        EXPECT_GE(m.cpm_product, 0.0);
        EXPECT_LE(m.cpm_mean, 1.0);
        EXPECT_EQ(m.cpm_before, r.epochs.front().cpm_before);
    }
    for (const char* f : {"last.pt", "best.pt", "metrics.csv", "config.json", "patches.npy", "patches.csv", "patches.json"})
        EXPECT_TRUE(std::filesystem::exists(dir.path("run/") + f)) << f;
    EXPECT_EQ(read_csv(dir.path("run/metrics.csv"), true).rows.size(), 20u);
    // The pipeline reads a checkpoint's epoch and that epoch's metrics back to choose the combination rule.
    const int best_epoch = fpr_checkpoint_epoch(dir.path("run/best.pt"));
    EXPECT_GE(best_epoch, 1);
    const FprEpochMetrics back = fpr_metrics_of(dir.path("run"), best_epoch);
    EXPECT_EQ(back.epoch, best_epoch);
    EXPECT_DOUBLE_EQ(back.cpm_product, r.epochs[static_cast<std::size_t>(best_epoch - 1)].cpm_product);
    test::expect_error([&] { (void)fpr_metrics_of(dir.path("run"), 99); }, {"no metrics for epoch 99"});
}

// Two ranks sharing one run folder: rank 0 cuts the patch set while rank 1 waits, then both train on it (batch
// norm per rank, so not bit for bit one process's: docs/distributed.md), and the network still learns.
TEST(TrainFpr, TwoRanksShareOnePatchSetAndLearn) {
    if (!rank_groups_available()) GTEST_SKIP() << "this build has no c10d Gloo (libgloo-dev)";
    test::TempDir dir;
    std::vector<FprTrainResult> results(2);
    const std::vector<std::string> errors = test::run_as_ranks(2, [&](const WorldSpec& world) {
        FprTrainOptions o = toy_options(dir.path("run"), 12);
        o.run.batch = 8;
        o.run.world = world;
        o.run.dist_timeout_s = 30;
        results[static_cast<std::size_t>(world.rank)] = train_fpr(o);
    });
    EXPECT_EQ(errors[0], "");
    EXPECT_EQ(errors[1], "");
    const FprTrainResult& r = results[0];
    ASSERT_EQ(r.epochs.size(), 12u);
    EXPECT_FALSE(r.set.reused);        // rank 0 cut it
    EXPECT_TRUE(results[1].set.reused);  // rank 1 opened rank 0's
    EXPECT_EQ(results[1].set.rows, r.set.rows);
    EXPECT_LT(r.epochs.back().train_loss, 0.9 * r.epochs.front().train_loss);
    EXPECT_EQ(read_csv(dir.path("run/metrics.csv"), true).rows.size(), 12u);
    // Every rank ends with the same network: their validation figures agree.
    for (std::size_t e = 0; e < 12; ++e) EXPECT_DOUBLE_EQ(results[1].epochs[e].val_auc, r.epochs[e].val_auc) << "epoch " << e + 1;
}

// The 3d network through the same trainer: it learns the toy set, and a resumed run equals an uninterrupted one.
TEST(TrainFpr, TheCubeNetworkLearnsAndResumes) {
    test::TempDir dir;
    FprTrainOptions o = toy_options(dir.path("run"), 12);
    o.net.arch = FprArch::Cube3d;
    o.run.lr_schedule = LrSchedule::Constant;
    const FprTrainResult r = train_fpr(o);
    ASSERT_EQ(r.epochs.size(), 12u);
    EXPECT_LT(r.epochs.back().train_loss, 0.8 * r.epochs.front().train_loss);
    FprCard card;
    FprNet best = load_fpr_checkpoint(dir.path("run/best.pt"), card);
    EXPECT_EQ(card.net.arch, FprArch::Cube3d);
    EXPECT_EQ(best->config().arch, FprArch::Cube3d);

    FprTrainOptions two = toy_options(dir.path("a"), 2), one = toy_options(dir.path("b"), 1);
    two.net.arch = one.net.arch = FprArch::Cube3d;
    train_fpr(two);
    train_fpr(one);
    FprTrainOptions more = fpr_resume_options(dir.path("b"));
    EXPECT_EQ(more.net.arch, FprArch::Cube3d);  // from the run's config.json
    more.run.epochs = 2;
    more.run.device = "cpu";
    more.set.threads = 2;
    train_fpr(more);
    FprCard ca, cb;
    FprNet a = load_fpr_checkpoint(dir.path("a/last.pt"), ca), b = load_fpr_checkpoint(dir.path("b/last.pt"), cb);
    const auto pa = a->parameters(), pb = b->parameters();
    ASSERT_EQ(pa.size(), pb.size());
    for (std::size_t i = 0; i < pa.size(); ++i) ASSERT_TRUE(torch::equal(pa[i], pb[i])) << "parameter " << i;

    // A patch the two scales cannot be cut from is refused before anything is written.
    FprTrainOptions odd = toy_options(dir.path("odd"), 1);
    odd.net.arch = FprArch::Cube3d;
    odd.set.patch.patch = 18;
    test::expect_error([&] { train_fpr(odd); }, {"multiple of 4"});
    EXPECT_FALSE(std::filesystem::exists(dir.path("odd")));
}

// --intensity-augment reaches the batches (the trained weights differ from a run without it, which equal a second
// run without it), is kept in config.json only when set (earlier stage keys stay valid) and refuses what it cannot use.
TEST(TrainFpr, IntensityAugmentationChangesTrainingAndIsRecordedOnlyWhenSet) {
    test::TempDir dir;
    FprTrainOptions plain = toy_options(dir.path("plain"), 1), again = toy_options(dir.path("again"), 1),
                    jitter = toy_options(dir.path("jitter"), 1);
    jitter.intensity_augment = 0.2;
    train_fpr(plain);
    train_fpr(again);
    train_fpr(jitter);
    FprCard c;
    FprNet p = load_fpr_checkpoint(dir.path("plain/last.pt"), c), a = load_fpr_checkpoint(dir.path("again/last.pt"), c),
           j = load_fpr_checkpoint(dir.path("jitter/last.pt"), c);
    const auto pp = p->parameters(), pa = a->parameters(), pj = j->parameters();
    bool differ = false;
    for (std::size_t i = 0; i < pp.size(); ++i) {
        ASSERT_TRUE(torch::equal(pp[i], pa[i])) << "parameter " << i;
        differ = differ || !torch::equal(pp[i], pj[i]);
    }
    EXPECT_TRUE(differ);

    EXPECT_FALSE(nlohmann::json(plain).contains("intensity_augment"));
    const nlohmann::json with = jitter;
    EXPECT_DOUBLE_EQ(with.at("intensity_augment").get<double>(), 0.2);
    EXPECT_DOUBLE_EQ(with.get<FprTrainOptions>().intensity_augment, 0.2);
    EXPECT_DOUBLE_EQ(fpr_resume_options(dir.path("jitter")).intensity_augment, 0.2);
    jitter.intensity_augment = 0.6;
    test::expect_error([&] { jitter.check(); }, {"intensity_augment"});
}

TEST(TrainFpr, ResumeGivesTheSameResultAsAnUninterruptedRun) {
    test::TempDir dir;
    train_fpr(toy_options(dir.path("a"), 2));
    train_fpr(toy_options(dir.path("b"), 1));
    FprTrainOptions more = fpr_resume_options(dir.path("b"));
    more.run.epochs = 2;
    more.run.device = "cpu";
    more.set.threads = 2;
    const auto rest = train_fpr(more);
    ASSERT_EQ(rest.epochs.size(), 1u);
    EXPECT_EQ(rest.epochs[0].epoch, 2);
    EXPECT_TRUE(rest.set.reused);
    FprCard ca, cb;
    FprNet a = load_fpr_checkpoint(dir.path("a/last.pt"), ca), b = load_fpr_checkpoint(dir.path("b/last.pt"), cb);
    const auto pa = a->parameters(), pb = b->parameters();
    ASSERT_EQ(pa.size(), pb.size());
    for (std::size_t i = 0; i < pa.size(); ++i) ASSERT_TRUE(torch::equal(pa[i], pb[i])) << "parameter " << i;
    const CsvTable ma = read_csv(dir.path("a/metrics.csv"), true), mb = read_csv(dir.path("b/metrics.csv"), true);
    ASSERT_EQ(mb.rows.size(), 2u);
    for (std::size_t r = 0; r < 2; ++r)
        for (std::size_t c = 0; c + 2 < ma.header.size(); ++c) EXPECT_EQ(ma.rows[r].fields[c], mb.rows[r].fields[c]) << ma.header[c];  // all but timings
    EXPECT_EQ(ma.header.back(), "seconds");
}

TEST(ApplyFpr, RescoresWithTheDocumentedRules) {
    test::TempDir dir;
    train_fpr(toy_options(dir.path("run"), 1));
    const std::vector<Candidate> original = read_results(toy().candidates);
    FprApplyOptions o;
    o.model = dir.path("run/best.pt");
    o.data = toy().cohort;
    o.device = "cpu";
    o.threads = 2;
    std::vector<Candidate> replaced = original, product = original, mean = original;
    apply_fpr(replaced, o);
    o.combine = FprCombine::Product;
    apply_fpr(product, o);
    o.combine = FprCombine::Mean;
    apply_fpr(mean, o);
    ASSERT_EQ(replaced.size(), original.size());
    bool differs = false;
    for (std::size_t n = 0; n < original.size(); ++n) {
        EXPECT_EQ(replaced[n].seriesuid, original[n].seriesuid);
        EXPECT_EQ(replaced[n].world, original[n].world);
        EXPECT_GT(replaced[n].probability, 0.0);
        EXPECT_LT(replaced[n].probability, 1.0);
        EXPECT_DOUBLE_EQ(product[n].probability, original[n].probability * replaced[n].probability);
        EXPECT_DOUBLE_EQ(mean[n].probability, (original[n].probability + replaced[n].probability) / 2);
        differs |= std::abs(replaced[n].probability - replaced[0].probability) > 1e-6;
    }
    EXPECT_TRUE(differs);  // the network looks at the patches

    // The model card says how validation scored (8 turns and mirrors by default); 0 follows it, 1 does not average.
    EXPECT_EQ(read_fpr_card_symmetries(dir.path("run/best.pt")), 8);
    o.combine = FprCombine::Replace;
    std::vector<Candidate> as_card = original, plain = original;
    o.symmetries = 8;
    apply_fpr(as_card, o);
    o.symmetries = 1;
    apply_fpr(plain, o);
    bool averaged = false;
    for (std::size_t n = 0; n < original.size(); ++n) {
        EXPECT_DOUBLE_EQ(as_card[n].probability, replaced[n].probability);
        averaged |= std::abs(plain[n].probability - replaced[n].probability) > 1e-9;
    }
    EXPECT_TRUE(averaged);

    std::vector<Candidate> stray{{"no.such.scan", {0, 0, 0}, 0.5}};
    test::expect_error([&] { apply_fpr(stray, o); }, {"no scan no.such.scan"});
    test::expect_error([] { (void)parse_enum("combine", "max", kFprCombineNames); }, {"combine must be replace, product or mean, got 'max'"});
}

}  // namespace
}  // namespace nodulecad
