// LibTorch tests: tiny configurations, seconds on a CPU.
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nodulecad/core/files.hpp"
#include "nodulecad/infer/predict.hpp"
#include "nodulecad/io/csv.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/io/npy.hpp"
#include "nodulecad/model/device.hpp"
#include "nodulecad/model/unet.hpp"
#include "nodulecad/preprocess/lung_segmentation.hpp"
#include "nodulecad/preprocess/slice_grid.hpp"
#include "nodulecad/synth/render.hpp"
#include "test_util.hpp"
#include "train/toy_dataset.hpp"
#include "nodulecad/train/train_unet.hpp"

namespace nodulecad {
namespace {

std::int64_t count_parameters(UNet& m) {
    std::int64_t n = 0;
    for (const auto& p : m->parameters()) n += p.numel();
    return n;
}

TEST(UNet, SeedNetworkHas7846081Parameters) {
    UNet seed(UNetConfig{});
    EXPECT_EQ(count_parameters(seed), 7846081);
    EXPECT_EQ(unet_parameter_count(UNetConfig{}), 7846081);
    for (const UNetConfig c : {UNetConfig{3, 32, 5, false}, UNetConfig{1, 8, 3, false}, UNetConfig{5, 4, 4, true}}) {
        UNet m(c);
        EXPECT_EQ(count_parameters(m), unet_parameter_count(c));
    }
}

TEST(UNet, ForwardGivesProbabilitiesOfTheInputSize) {
    torch::manual_seed(1);
    UNet m(UNetConfig{3, 4, 3, false});
    const torch::Tensor p = m->forward(torch::rand({2, 3, 32, 32}));
    EXPECT_EQ(p.sizes(), (std::vector<std::int64_t>{2, 1, 32, 32}));
    EXPECT_GE(p.min().item<float>(), 0.f);
    EXPECT_LE(p.max().item<float>(), 1.f);
}

TEST(UNet, CheckpointRoundTripGivesIdenticalOutputs) {
    test::TempDir dir;
    torch::manual_seed(2);
    UNet m(UNetConfig{1, 4, 3, true});
    m->eval();
    ModelCard card;
    card.unet = m->config();
    card.size = 32;
    card.mean = 0.3;
    card.std = 0.2;
    save_checkpoint(dir.path("m.pt"), m, card, nullptr);
    ModelCard back;
    UNet l = load_checkpoint(dir.path("m.pt"), back);
    l->eval();
    const torch::Tensor x = torch::rand({1, 1, 32, 32});
    EXPECT_TRUE(torch::equal(m->forward(x), l->forward(x)));
    EXPECT_EQ(back.to_json(), card.to_json());
    EXPECT_EQ(read_model_card(dir.path("m.pt")).mean, 0.3);
}

// A copy of a checkpoint as a GPU machine writes it: the same archive with every storage marked "cuda:0" (the
// pickled location string, the only difference). Lets a CPU-only LibTorch test that CUDA-trained models load here.
void mark_storages_cuda(const std::string& src, const std::string& dst) {
    caffe2::serialize::PyTorchStreamReader reader(src);
    caffe2::serialize::PyTorchStreamWriter writer(dst);
    int marked = 0;
    for (const std::string& name : reader.getAllRecords()) {
        if (name == "version" || name == ".data/version") continue;  // the writer adds its own
        auto record = reader.getRecord(name);
        std::string data(static_cast<const char*>(std::get<0>(record).get()), std::get<1>(record));
        if (name == "data.pkl") {
            const std::string cpu("X\x03\0\0\0cpu", 8), cuda("X\x06\0\0\0cuda:0", 11);
            for (std::size_t at = data.find(cpu); at != std::string::npos; at = data.find(cpu, at + cuda.size())) {
                data.replace(at, cpu.size(), cuda);
                ++marked;
            }
        }
        writer.writeRecord(name, data.data(), data.size());
    }
    writer.writeEndOfFile();
    ASSERT_GT(marked, 0) << "no storage location found in " << src;
}

TEST(UNet, CheckpointWrittenOnCudaLoadsOnACpu) {
    test::TempDir dir;
    torch::manual_seed(5);
    UNet m(UNetConfig{1, 4, 2, false});
    torch::optim::Adam adam(m->parameters(), torch::optim::AdamOptions(1e-3));
    const torch::Tensor x = torch::rand({2, 1, 16, 16});
    m->forward(x).mean().backward();
    adam.step();
    ModelCard card;
    card.unet = m->config();
    card.size = 16;
    save_checkpoint(dir.path("cpu.pt"), m, card, &adam);
    mark_storages_cuda(dir.path("cpu.pt"), dir.path("cuda.pt"));

    ModelCard back;
    UNet l = load_checkpoint(dir.path("cuda.pt"), back, torch::kCPU);
    EXPECT_TRUE(torch::equal(m->forward(x), l->forward(x)));
    for (const auto& p : l->parameters()) EXPECT_TRUE(p.device().is_cpu());
    // Resuming: the optimizer state comes to the parameters' device, and the next steps match the original's.
    torch::optim::Adam resumed(l->parameters(), torch::optim::AdamOptions(1e-3));
    load_optimizer_state(dir.path("cuda.pt"), resumed);
    for (auto* opt : {static_cast<torch::optim::Optimizer*>(&adam), static_cast<torch::optim::Optimizer*>(&resumed)}) {
        UNet& net = opt == &adam ? m : l;
        opt->zero_grad();
        net->forward(x).mean().backward();
        opt->step();
    }
    EXPECT_TRUE(torch::equal(m->forward(x), l->forward(x)));
}

TEST(UNet, BadModelFilesGiveClearErrors) {
    test::TempDir dir;
    test::expect_error([&] { (void)read_model_card(dir.path("none.pt")); }, {"none.pt", "model file not found"});
    test::write_text(dir.path("junk.pt"), "this is not a checkpoint");
    test::expect_error([&] { (void)read_model_card(dir.path("junk.pt")); }, {"junk.pt", "not a nodulecad checkpoint"});
    // A LibTorch archive without a model card.
    torch::serialize::OutputArchive a;
    a.write("something", c10::IValue(std::string("else")));
    a.save_to(dir.path("other.pt"));
    test::expect_error([&] { (void)read_model_card(dir.path("other.pt")); }, {"other.pt", "no model card"});
}

using test::toy_options;
using test::write_toy_dataset;

TEST(Train, LossGoesDownOnAToySet) {
    test::TempDir dir;
    write_toy_dataset(dir.path("toy"), 20, 1, 32);
    const auto m = train_unet(toy_options(dir.path("toy"), dir.path("run"), 12));
    ASSERT_EQ(m.size(), 12u);
    EXPECT_LT(m.back().train_loss, m.front().train_loss - 0.2);
    EXPECT_GT(m.back().val_dice, 0.5);
    for (const char* f : {"last.pt", "best.pt", "metrics.csv", "config.json"}) EXPECT_TRUE(std::filesystem::exists(dir.path("run/") + f)) << f;
    const CsvTable metrics = read_csv(dir.path("run/metrics.csv"), true);
    EXPECT_EQ(metrics.header, (std::vector<std::string>{"epoch", "train_loss", "train_dice", "val_dice", "samples_per_s", "seconds"}));
    EXPECT_EQ(metrics.rows.size(), 12u);
    // best.pt holds the best validation Dice seen.
    double best = -1;
    for (const auto& e : m) best = std::max(best, e.val_dice);
    EXPECT_DOUBLE_EQ(read_model_card(dir.path("run/best.pt")).best_val_dice, best);
}

// Each crop's Dice, or its Tversky index, averaged: 16 x 16 windows of 48 x 48 samples, some of them missing their
// disc, still learn the whole slices; the run records its loss, and the same seed with the batch's Dice or the other
// per-sample loss ends elsewhere.
TEST(Train, PerSampleLossesLearnWholeSlicesAndAreRecorded) {
    test::TempDir dir;
    write_toy_dataset(dir.path("toy"), 20, 1, 48);
    std::vector<double> ends;
    for (const UNetLoss loss : {UNetLoss::SampleDiceBce, UNetLoss::SampleTverskyBce, UNetLoss::DiceBce}) {
        const std::string name(enum_name(loss, kUNetLossNames));
        SCOPED_TRACE(name);
        TrainOptions o = toy_options(dir.path("toy"), dir.path(name), 30);
        o.crop = 16;
        o.loss = loss;
        const auto m = train_unet(o);
        ends.push_back(m.back().train_loss);
        if (loss == UNetLoss::DiceBce) break;  // the batch's Dice: only where it ends
        EXPECT_GT(m.back().val_dice, 0.5);
        EXPECT_LT(m.back().train_loss, m.front().train_loss - 0.2);
        EXPECT_NE(read_file(dir.path(name + "/config.json")).find("\"loss\": \"" + name + "\""), std::string::npos);
        EXPECT_EQ(read_model_card(dir.path(name + "/best.pt")).loss, loss);
    }
    EXPECT_NE(ends[0], ends[1]);
    EXPECT_NE(ends[0], ends[2]);
}

TEST(Train, CropsLearnWholeSlices) {
    // 16 x 16 windows around the discs of 48 x 48 samples; validation runs on the whole samples.
    test::TempDir dir;
    write_toy_dataset(dir.path("toy"), 20, 1, 48);
    TrainOptions o = toy_options(dir.path("toy"), dir.path("run"), 30);
    o.crop = 16;
    const auto m = train_unet(o);
    EXPECT_GT(m.back().val_dice, 0.5);
    EXPECT_LT(m.back().train_loss, m.front().train_loss - 0.2);
    o.crop = 18;
    o.run.run_dir = dir.path("bad");
    test::expect_error([&] { train_unet(o); }, {"crop must be divisible by 2^(depth-1) = 4, got 18"});
    o.crop = 64;
    test::expect_error([&] { train_unet(o); }, {"crop must be between 0 and the sample size 48, got 64"});
}

TEST(Train, NoduleSamplingLearnsAndNeedsTheWeightColumn) {
    test::TempDir dir;
    write_toy_dataset(dir.path("toy"), 20, 1, 32);
    TrainOptions o = toy_options(dir.path("toy"), dir.path("run"), 12);
    o.sampling = Sampling::Nodules;
    const auto m = train_unet(o);
    EXPECT_LT(m.back().train_loss, m.front().train_loss - 0.2);
    EXPECT_GT(m.back().val_dice, 0.5);
    EXPECT_NE(read_file(dir.path("run/config.json")).find("\"sampling\": \"nodules\""), std::string::npos);
    // The same seed with slice sampling visits other samples, so it ends elsewhere.
    TrainOptions s = toy_options(dir.path("toy"), dir.path("slices"), 12);
    s.sampling = Sampling::Slices;
    EXPECT_NE(train_unet(s).back().train_loss, m.back().train_loss);
    write_toy_dataset(dir.path("old"), 8, 1, 32, false);
    o.data_dir = dir.path("old");
    o.run.run_dir = dir.path("run2");
    test::expect_error([&] { train_unet(o); }, {"index.csv", "no nodule_weight column", "run it again"});
}

// Validation every 3rd epoch and after the last, or only from the 4th: training is the same as with validation every
// epoch; the other epochs have no validation Dice and cannot become best.pt, which holds the best of the validated
// ones.
TEST(Train, ValidatingEveryNthEpochOrFromTheMthTrainsTheSameAndKeepsTheBestValidated) {
    test::TempDir dir;
    write_toy_dataset(dir.path("toy"), 20, 1, 32);
    TrainOptions o = toy_options(dir.path("toy"), dir.path("every"), 5);
    o.run.lr = 3e-2;  // large steps: the validation Dice peaks before the last epoch
    const auto every = train_unet(o);
    o.run.run_dir = dir.path("third");
    o.run.validate_every = 3;
    const auto third = train_unet(o);
    ASSERT_EQ(every.size(), 5u);
    ASSERT_EQ(third.size(), 5u);
    for (std::size_t e = 0; e < 5; ++e) {
        SCOPED_TRACE("epoch " + std::to_string(e + 1));
        EXPECT_DOUBLE_EQ(third[e].train_loss, every[e].train_loss);
        if (e == 2 || e == 4)
            EXPECT_DOUBLE_EQ(third[e].val_dice, every[e].val_dice);
        else
            EXPECT_TRUE(std::isnan(third[e].val_dice));
    }
    // The case worth testing (checked, so the test cannot pass vacuously when the draw changes): the last epoch
    // scores below epoch 3, so best.pt must stay at epoch 3 — not move to the unvalidated epoch 4.
    ASSERT_LT(every[4].val_dice, every[2].val_dice);
    const ModelCard card = read_model_card(dir.path("third/best.pt"));
    EXPECT_EQ(card.epoch, 3);
    EXPECT_DOUBLE_EQ(card.best_val_dice, every[2].val_dice);
    EXPECT_EQ(read_csv(dir.path("third/metrics.csv"), true).rows.size(), 5u);
    EXPECT_NE(read_file(dir.path("third/config.json")).find("\"validate_every\": 3"), std::string::npos);
    EXPECT_EQ(read_file(dir.path("every/config.json")).find("validate_every"), std::string::npos);  // unchanged keys
    o.run.validate_every = 0;
    o.run.run_dir = dir.path("bad");
    test::expect_error([&] { (void)train_unet(o); }, {"validate_every must be > 0, got 0"});

    // Validation from epoch 4 on: epochs 1-3 are not validated (so epoch 3, the best of all, cannot be kept), 4 and
    // 5 are, with the same Dice as before; best.pt holds the better of those two.
    o.run.validate_every = 1;
    o.run.validate_from = 4;
    o.run.run_dir = dir.path("late");
    const auto late = train_unet(o);
    ASSERT_EQ(late.size(), 5u);
    for (std::size_t e = 0; e < 5; ++e) {
        SCOPED_TRACE("epoch " + std::to_string(e + 1));
        EXPECT_DOUBLE_EQ(late[e].train_loss, every[e].train_loss);
        if (e >= 3) {
            EXPECT_DOUBLE_EQ(late[e].val_dice, every[e].val_dice);
        } else {
            EXPECT_TRUE(std::isnan(late[e].val_dice));
        }
    }
    const int late_best = every[3].val_dice >= every[4].val_dice ? 4 : 5;
    EXPECT_EQ(read_model_card(dir.path("late/best.pt")).epoch, late_best);
    EXPECT_NE(read_file(dir.path("late/config.json")).find("\"validate_from\": 4"), std::string::npos);
    EXPECT_EQ(read_file(dir.path("every/config.json")).find("validate_from"), std::string::npos);
    o.run.validate_from = 0;
    o.run.run_dir = dir.path("bad");
    test::expect_error([&] { (void)train_unet(o); }, {"validate_from must be > 0, got 0"});
}

// Two checkpoints hold bit-identical weights.
void expect_same_weights(const std::string& path_a, const std::string& path_b) {
    ModelCard ca, cb;
    UNet a = load_checkpoint(path_a, ca), b = load_checkpoint(path_b, cb);
    const auto pa = a->parameters(), pb = b->parameters();
    ASSERT_EQ(pa.size(), pb.size());
    for (std::size_t i = 0; i < pa.size(); ++i) ASSERT_TRUE(torch::equal(pa[i], pb[i])) << "parameter " << i;
}

TEST(Train, ResumeGivesTheSameResultAsAnUninterruptedRun) {
    test::TempDir dir;
    write_toy_dataset(dir.path("toy"), 12, 1, 32);
    const auto straight = train_unet(toy_options(dir.path("toy"), dir.path("a"), 3));
    train_unet(toy_options(dir.path("toy"), dir.path("b"), 2));
    TrainOptions resume = toy_options(dir.path("toy"), dir.path("b"), 3);
    resume.run.resume = true;
    const auto rest = train_unet(resume);
    ASSERT_EQ(rest.size(), 1u);
    EXPECT_EQ(rest[0].epoch, 3);
    EXPECT_DOUBLE_EQ(rest[0].train_loss, straight[2].train_loss);
    EXPECT_DOUBLE_EQ(rest[0].val_dice, straight[2].val_dice);
    expect_same_weights(dir.path("a/last.pt"), dir.path("b/last.pt"));
    EXPECT_EQ(read_csv(dir.path("b/metrics.csv"), true).rows.size(), 3u);
}

// Nodule mining: after each epoch every training sample is scored by the soft Dice of the training window centred on
// its disc (checked here against the epoch's network run on that window again), the last two epochs' scores are
// kept, the first epoch draws as without mining and the second otherwise, and a resumed run draws what the whole
// run drew.
TEST(Train, NoduleMiningScoresEachNoduleWindowAndDrawsByIt) {
    test::TempDir dir;
    const int n = 20, S = 32, W = 16;
    write_toy_dataset(dir.path("toy"), n, 1, S);
    TrainOptions o = toy_options(dir.path("toy"), dir.path("mined"), 4);
    o.crop = W;
    o.sampling = Sampling::Nodules;
    o.nodule_mining = true;
    const auto mined = train_unet(o);
    EXPECT_NE(read_file(dir.path("mined/config.json")).find("\"nodule_mining\": true"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(dir.path("mined/nodule_scores_2.json")));
    ASSERT_TRUE(std::filesystem::exists(dir.path("mined/nodule_scores_3.json")));
    const nlohmann::json kept = nlohmann::json::parse(read_file(dir.path("mined/nodule_scores_4.json")));
    ASSERT_EQ(kept.size(), 16u);  // the training samples (every fifth is validation's), one disc each

    ModelCard card;
    UNet net = load_checkpoint(dir.path("mined/last.pt"), card);
    net->eval();
    double lowest = 1, highest = 0;
    std::size_t k = 0;
    for (int s = 0; s < n; ++s) {
        const torch::NoGradGuard no_grad;
        if (s % 5 == 4) continue;
        SCOPED_TRACE("sample " + std::to_string(s));
        // The toy dataset's disc (image 0.8 on 0.1, normalised by mean 0.15 and std 0.2); its centroid is its centre.
        const int cx = 8 + (s * 7) % 16, cy = 8 + (s * 11) % 16, r = 3 + s % 4;
        const int x0 = std::clamp(cx - W / 2, 0, S - W), y0 = std::clamp(cy - W / 2, 0, S - W);
        torch::Tensor x = torch::empty({1, 1, W, W}), y = torch::zeros({1, 1, W, W});
        for (int v = 0; v < W; ++v)
            for (int u = 0; u < W; ++u) {
                const bool in = std::hypot(x0 + u - cx, y0 + v - cy) <= r;
                x[0][0][v][u] = ((in ? 0.8 : 0.1) - 0.15) / 0.2;
                y[0][0][v][u] = in ? 1.0 : 0.0;
            }
        const torch::Tensor p = net->forward(x);
        const double dice = (2 * (p * y).sum().item<double>() + 1) / (p.sum().item<double>() + y.sum().item<double>() + 1);
        ASSERT_EQ(kept[k].at(0).get<int>(), s);
        EXPECT_NEAR(kept[k].at(1).get<double>(), dice, 1e-5);
        lowest = std::min(lowest, dice);
        highest = std::max(highest, dice);
        ++k;
    }
    EXPECT_LT(lowest, highest - 0.01);  // the weights differ between the samples

    TrainOptions plain = o;
    plain.nodule_mining = false;
    plain.run.run_dir = dir.path("plain");
    const auto drawn = train_unet(plain);
    EXPECT_DOUBLE_EQ(mined[0].train_loss, drawn[0].train_loss);
    EXPECT_NE(mined[1].train_loss, drawn[1].train_loss);
    EXPECT_FALSE(std::filesystem::exists(dir.path("plain/nodule_scores_4.json")));

    TrainOptions first = o;
    first.run.run_dir = dir.path("resumed");
    first.run.epochs = 2;
    train_unet(first);
    first.run.epochs = 4;
    first.run.resume = true;
    const auto rest = train_unet(first);
    ASSERT_EQ(rest.size(), 2u);
    EXPECT_DOUBLE_EQ(rest[0].train_loss, mined[2].train_loss);
    EXPECT_DOUBLE_EQ(rest[1].train_loss, mined[3].train_loss);
    expect_same_weights(dir.path("mined/last.pt"), dir.path("resumed/last.pt"));

    o.sampling = Sampling::Slices;
    o.run.run_dir = dir.path("bad");
    test::expect_error([&] { train_unet(o); }, {"nodule_mining needs nodules sampling"});
}

// last.pt is an epoch's commit point, written after its metrics row: a run stopped between the two (a signal ends
// the process at once) must not leave a checkpoint whose epoch metrics.csv lacks, for no resume brings that row
// back. Here the row's write fails (a folder stands where metrics.csv goes): no checkpoint of that epoch.
TEST(Train, NoCheckpointOfAnEpochWhoseMetricsRowWasNotWritten) {
    namespace fs = std::filesystem;
    test::TempDir dir;
    write_toy_dataset(dir.path("toy"), 12, 1, 32);
    fs::create_directories(dir.path("run/metrics.csv/blocked"));
    test::expect_error([&] { train_unet(toy_options(dir.path("toy"), dir.path("run"), 2)); }, {"metrics.csv"});
    EXPECT_FALSE(fs::exists(dir.path("run/last.pt")));
    EXPECT_FALSE(fs::exists(dir.path("run/best.pt")));
    // Where it can be written, a fresh run replaces what an earlier run left, unread.
    fs::remove_all(dir.path("run"));
    fs::create_directories(dir.path("run"));
    write_file_atomically(dir.path("run/metrics.csv"), "not,a,metrics,table\n");
    EXPECT_EQ(train_unet(toy_options(dir.path("toy"), dir.path("run"), 2)).size(), 2u);
    EXPECT_EQ(read_csv(dir.path("run/metrics.csv"), true).rows.size(), 2u);
}

TEST(Train, LoaderThreadsDoNotChangeTheResult) {
    test::TempDir dir;
    write_toy_dataset(dir.path("toy"), 12, 1, 32);
    TrainOptions one = toy_options(dir.path("toy"), dir.path("a"), 2), three = toy_options(dir.path("toy"), dir.path("b"), 2);
    one.run.loader_threads = 1;
    one.run.batch = three.run.batch = 2;
    three.run.loader_threads = 3;
    const auto a = train_unet(one), b = train_unet(three);
    ASSERT_EQ(a.size(), 2u);
    EXPECT_DOUBLE_EQ(a[1].train_loss, b[1].train_loss);
    EXPECT_DOUBLE_EQ(a[1].val_dice, b[1].val_dice);
    expect_same_weights(dir.path("a/last.pt"), dir.path("b/last.pt"));
    TrainOptions bad = toy_options(dir.path("toy"), dir.path("c"), 1);
    bad.run.loader_threads = -1;
    test::expect_error([&] { (void)train_unet(bad); }, {"loader_threads must be >= 0, got -1"});
}

TEST(Train, MismatchedChannelsOnResumeIsAClearError) {
    test::TempDir dir;
    write_toy_dataset(dir.path("one"), 8, 1, 32);
    write_toy_dataset(dir.path("three"), 8, 3, 32);
    train_unet(toy_options(dir.path("one"), dir.path("run"), 1));
    TrainOptions o = toy_options(dir.path("three"), dir.path("run"), 2);
    o.run.resume = true;
    test::expect_error([&] { train_unet(o); }, {"last.pt", "1 input channels", "dataset has 3"});
    test::expect_error([&] { train_unet(toy_options(dir.path("missing"), dir.path("r2"), 1)); }, {"missing", "dataset folder not found"});
}

TEST(Predict, ProbabilitiesLandOnTheScanThroughTheInverseMap) {
    // A flipped synthetic scan, an untrained tiny model: the written volume equals sample -> model -> unsample.
    test::TempDir dir;
    const ScanSpec spec = draw_scan_spec(Preset::Small, 5, 1, true);
    const RenderedScan r = render_scan(spec, 2);
    write_metaimage(dir.path("scan.mhd"), r.scan);
    torch::manual_seed(4);
    UNet m(UNetConfig{1, 4, 3, false});
    ModelCard card;
    card.unet = m->config();
    card.size = 64;
    card.pixel_mm = 5;
    card.mean = 0.2;
    card.std = 0.3;
    save_checkpoint(dir.path("m.pt"), m, card, nullptr);
    PredictOptions o;
    o.model = dir.path("m.pt");
    o.data = dir.path("scan.mhd");
    o.device = "cpu";
    o.float_output = true;
    o.threads = 2;
    LungSegmentationOptions lo;
    lo.threads = 2;
    const LungSegmentation lungs = segment_lungs_robust(r.scan, lo);
    const std::size_t plane = static_cast<std::size_t>(r.scan.geometry.size[0] * r.scan.geometry.size[1]);
    for (const bool lungs_only : {false, true}) {
        SCOPED_TRACE(lungs_only ? "grid fitted to the lungs" : "training grid");
        o.lungs_only = lungs_only;
        o.out_dir = dir.path(lungs_only ? "pred_lungs" : "pred");
        const PredictSummary s = predict_scans(o);
        ASSERT_EQ(s.scans, 1);
        const Volume<float> prob = read_volume<float>(o.out_dir + "/scan_prob.mhd");
        ASSERT_EQ(prob.geometry, r.scan.geometry);
        // Recompute one slice by hand.
        const SliceGrid grid = lungs_only ? grid_fitted(lungs.mask, 5, 4, 10) : grid_around(lungs.mask, 64, 5);
        const int S = grid.size;
        if (lungs_only) {
            EXPECT_LT(S, 64);  // the lungs need less than the training field of view
        }
        const std::int64_t k = r.scan.geometry.size[2] / 2;
        std::vector<float> x(static_cast<std::size_t>(S * S));
        sample_image(r.scan, &lungs.mask, grid, k, {}, x.data());
        for (float& v : x) v = (v - 0.2f) / 0.3f;
        m->eval();
        torch::NoGradGuard no_grad;
        const torch::Tensor p = m->forward(torch::from_blob(x.data(), {1, 1, S, S})).contiguous();
        std::vector<float> expected(plane);
        unsample_slice(p.data_ptr<float>(), grid, r.scan.geometry, k, expected.data());
        for (std::size_t n = 0; n < plane; n += 7) ASSERT_NEAR(prob.voxels[static_cast<std::size_t>(k) * plane + n], expected[n], 1e-5);
        // Slices more than 2 away from any lung voxel are skipped (0) when fitting to the lungs, run otherwise.
        std::int64_t first_lung = -1;
        for (std::int64_t z = 0; z < r.scan.geometry.size[2] && first_lung < 0; ++z)
            for (std::size_t n = 0; n < plane; ++n)
                if (lungs.mask.voxels[static_cast<std::size_t>(z) * plane + n]) {
                    first_lung = z;
                    break;
                }
        ASSERT_GT(first_lung, 3);
        double below = 0;
        for (std::size_t n = 0; n < plane; ++n) below += prob.voxels[n];
        if (lungs_only) {
            EXPECT_EQ(below, 0.0);
            EXPECT_EQ(s.slices, std::min(r.scan.geometry.size[2], [&] {
                          std::int64_t last = 0;
                          for (std::int64_t z = 0; z < r.scan.geometry.size[2]; ++z)
                              for (std::size_t n = 0; n < plane; ++n)
                                  if (lungs.mask.voxels[static_cast<std::size_t>(z) * plane + n]) last = z;
                          return last + 3;
                      }()) - (first_lung - 2));
        } else {
            EXPECT_GT(below, 0.0);
            EXPECT_EQ(s.slices, r.scan.geometry.size[2]);
        }
    }
    // The batch size (0: one slice per pass on a CPU) does not change the result.
    o.batch = 5;
    o.out_dir = dir.path("pred_b5");
    (void)predict_scans(o);
    const Volume<float> one = read_volume<float>(dir.path("pred_lungs/scan_prob.mhd")), five = read_volume<float>(dir.path("pred_b5/scan_prob.mhd"));
    ASSERT_EQ(one.voxels.size(), five.voxels.size());
    for (std::size_t n = 0; n < one.voxels.size(); n += 3) ASSERT_NEAR(one.voxels[n], five.voxels[n], 1e-5);
    // Slices split over 2 workers of one compute thread each (threads = 2 above, a batch a worker) give the bytes
    // of one thread running them all, batch by batch; the process's compute threads are as before afterwards.
    set_compute_threads(2);
    for (const int batch : {1, 5}) {
        SCOPED_TRACE("batch " + std::to_string(batch));
        o.batch = batch;
        o.threads = 2;
        o.out_dir = dir.path("pred_w2_" + std::to_string(batch));
        (void)predict_scans(o);
        EXPECT_EQ(torch::get_num_threads(), 2);
        o.threads = 1;
        o.out_dir = dir.path("pred_w1_" + std::to_string(batch));
        {
            const ComputeThreadsScope single_thread(1);
            (void)predict_scans(o);
        }
        const Volume<float> two = read_volume<float>(dir.path("pred_w2_" + std::to_string(batch) + "/scan_prob.mhd")),
                            single = read_volume<float>(o.out_dir + "/scan_prob.mhd");
        ASSERT_EQ(two.voxels.size(), single.voxels.size());
        EXPECT_TRUE(two.voxels == single.voxels);
        double sum = 0;
        for (const float v : two.voxels) sum += v;
        EXPECT_GT(sum, 0.0);
    }
    o.threads = 2;
    o.batch = 5;
    o.out_dir = dir.path("pred_b5");
    // uint8 output, slices resampled on 2 threads: p * 255 of the same probabilities.
    o.float_output = false;
    o.out_dir = dir.path("pred_b5_u8");
    (void)predict_scans(o);
    const Volume<std::uint8_t> q = read_volume<std::uint8_t>(dir.path("pred_b5_u8/scan_prob.mhd"));
    ASSERT_EQ(q.voxels.size(), five.voxels.size());
    for (std::size_t n = 0; n < q.voxels.size(); ++n)
        ASSERT_NEAR(q.voxels[n], std::clamp(five.voxels[n], 0.f, 1.f) * 255, 0.5 + 1e-3) << n;
    o.float_output = true;
    test::expect_error([&] {
        PredictOptions bad = o;
        bad.batch = -1;
        (void)predict_scans(bad);
    }, {"batch must be >= 0 (0: automatic), got -1"});
    test::expect_error([&] {
        PredictOptions bad = o;
        bad.model = dir.path("scan.mhd");
        (void)predict_scans(bad);
    }, {"scan.mhd", "not a nodulecad checkpoint"});
}

}  // namespace
}  // namespace nodulecad
