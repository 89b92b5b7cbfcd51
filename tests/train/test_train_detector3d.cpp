// The 3D detector's trainer variant end to end on tiny scans: lung boxes on the millimetre grid -> patches with
// heatmap targets -> training -> the runner's tiled heatmap -> peaks in world mm. A real learning test (seeded,
// CPU): after a few epochs on balls placed at random, the strongest peak on a new scan with a flipped direction
// matrix is on its ball; the same with the segmentation head and its components. A resumed run equals an
// uninterrupted one, and two ranks (c10d Gloo, threads of this process) train like one process.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "nodulecad/core/files.hpp"
#include "nodulecad/core/random.hpp"
#include "nodulecad/detect/heatmap_candidates.hpp"
#include "nodulecad/io/metaimage.hpp"
#include "nodulecad/io/npy.hpp"
#include "nodulecad/io/tables.hpp"
#include "nodulecad/model/detector3d.hpp"
#include "nodulecad/preprocess/detector3d_dataset.hpp"
#include "nodulecad/preprocess/grid3d.hpp"
#include "nodulecad/preprocess/lung_segmentation.hpp"
#include "nodulecad/train/rank_group.hpp"
#include "nodulecad/train/train_detector3d.hpp"
#include "test_util.hpp"
#include "train/ranks.hpp"

namespace nodulecad {
namespace {

namespace fs = std::filesystem;

// A 36 x 36 x 16 scan at 1 x 1 x 2.5 mm of -850 HU with noise, a tube (vessel-like, 2 mm across) along z and a
// 6 mm ball (40 HU) at a random place away from the tube; `walled`: inside a 3-mm wall of 40 HU along x and y, so
// that lung segmentation finds a lung (the same random draws either way).
Volume<std::int16_t> ball_scan(const Mat3& direction, Rng& rng, Vec3& ball, bool walled = false) {
    Geometry g;
    g.size = {36, 36, 16};
    g.spacing = {1.0, 1.0, 2.5};
    g.direction = direction;
    g.origin = {-10, 20, -40};
    Volume<std::int16_t> v(g, -850);
    const Vec3 b{rng.uniform(9, 27), rng.uniform(9, 27), rng.uniform(4, 11)};  // index
    ball = index_to_world(g, b);
    const double tx = b[0] < 18 ? 27 : 9, ty = rng.uniform(9, 27);
    for (std::int64_t k = 0; k < 16; ++k)
        for (std::int64_t j = 0; j < 36; ++j)
            for (std::int64_t i = 0; i < 36; ++i) {
                const double dx = static_cast<double>(i) - b[0], dy = static_cast<double>(j) - b[1], dz = (static_cast<double>(k) - b[2]) * 2.5;
                const double r = std::sqrt(dx * dx + dy * dy + dz * dz);
                const double tube = std::hypot(static_cast<double>(i) - tx, static_cast<double>(j) - ty);
                double hu = -850 + rng.uniform(-40, 40);
                if (r < 3.5) hu = std::max(hu, 40 - 890 * std::max(0.0, r - 2.5));
                if (tube < 1.5) hu = std::max(hu, 40.0);
                if (walled && (std::min(i, j) < 3 || std::max(i, j) >= 33)) hu = 40;
                v.voxels[v.offset(i, j, k)] = static_cast<std::int16_t>(hu);
            }
    return v;
}

// `n` training scans (uids s0..) and their annotations under DIR/data.
void write_cohort(const test::TempDir& dir, int n, bool walled = false) {
    fs::create_directories(dir.path("data"));
    Rng rng(7);
    std::vector<Annotation> rows;
    for (int s = 0; s < n; ++s) {
        Vec3 ball{};
        const auto scan = ball_scan(identity3(), rng, ball, walled);
        const std::string uid = "s" + std::to_string(s);
        write_metaimage(dir.path("data/" + uid + ".mhd"), scan);
        rows.push_back({uid, ball, 6.0});
    }
    write_annotations(dir.path("data/annotations.csv"), rows);
}

Detector3dTrainOptions tiny_options(const test::TempDir& dir, const std::string& run, int epochs) {
    Detector3dTrainOptions o;
    o.data_dir = dir.path("grid");
    o.run.run_dir = dir.path(run);
    o.run.epochs = epochs;
    o.run.batch = 4;
    o.run.lr = 3e-3;
    o.run.device = "cpu";
    o.run.seed = 3;
    o.net = {1, 8, 3, true};
    o.patch = 16;
    o.epoch_samples = 48;
    o.hard_mining_patches = 8;
    return o;
}

Detector3dDataset make_dataset(const test::TempDir& dir, bool lung_mask = false) {
    Detector3dDatasetOptions d;
    d.lung_mask = lung_mask;
    d.data_dir = dir.path("data");
    d.annotations = dir.path("data/annotations.csv");
    d.out_dir = dir.path("grid");
    d.grid.spacing_mm = 2.0;
    d.val_fraction = 0.2;
    d.threads = 2;
    return build_detector3d_dataset(d);
}

// A new ball scan on each test direction matrix (seeded): the scans whose strongest candidate lies within the ball's
// radius (3 mm) of its centre, those without a candidate, and whether every candidate had a diameter.
struct BallsFound {
    int hits = 0, empty = 0;
    bool sized = true;
};
// With `walled`, walled scans whose lungs are segment_lungs_robust's, as the dataset's masks were made; else none.
BallsFound find_balls(const Detector3dRunner& runner, const PeakOptions& peaks, bool walled = false) {
    BallsFound f;
    Rng rng(99);
    for (const auto& [name, direction] : test::test_directions()) {
        Vec3 ball{};
        const auto scan = ball_scan(direction, rng, ball, walled);
        const auto lungs = walled ? segment_lungs_robust(scan).mask : Volume<std::uint8_t>(scan.geometry, 0);
        const auto found = detect_scan_3d("x", scan, lungs, runner, peaks, 1);
        if (found.empty()) {
            ++f.empty;
            continue;
        }
        const Vec3& w = found[0].candidate.world;
        f.hits += std::hypot(w[0] - ball[0], w[1] - ball[1], w[2] - ball[2]) < 3.0;
        f.sized = f.sized && found[0].candidate.diameter_mm > 0;
    }
    return f;
}

// find_balls with each scan's strongest peak, however weak.
BallsFound find_balls_by_top_peak(const Detector3dRunner& runner, bool walled = false) {
    PeakOptions peaks;
    peaks.threshold = 0;
    peaks.max_per_scan = 1;
    return find_balls(runner, peaks, walled);
}

TEST(TrainDetector3d, DatasetHoldsBoxesAndNodulesOnTheGrid) {
    test::TempDir dir;
    write_cohort(dir, 5);
    const Detector3dDataset d = make_dataset(dir);
    const Detector3dDataset again = read_detector3d_dataset(dir.path("grid"));
    ASSERT_EQ(d.scans.size(), 5u);
    ASSERT_EQ(again.scans.size(), 5u);
    int val = 0;
    const auto rows = group_by_uid(read_annotations(dir.path("data/annotations.csv")));
    for (std::size_t s = 0; s < d.scans.size(); ++s) {
        EXPECT_EQ(again.scans[s].geometry, d.scans[s].geometry);
        val += d.scans[s].validation;
        ASSERT_EQ(d.scans[s].nodules.size(), 1u);
        // The nodule's grid index goes back to its world position.
        const Vec3 w = index_to_world(d.scans[s].geometry, again.scans[s].nodules[0].index);
        const Vec3 truth = annotations_of(rows, d.scans[s].uid).at(0).world;
        EXPECT_NEAR(std::hypot(w[0] - truth[0], w[1] - truth[1], w[2] - truth[2]), 0, 1e-9);
        EXPECT_DOUBLE_EQ(again.scans[s].nodules[0].diameter_mm, 6.0);
    }
    EXPECT_EQ(val, 1);  // round(0.2 * 5)
    write_file_atomically(dir.path("grid/dataset.json"), "{\"format\": \"other\"}");
    test::expect_error([&] { read_detector3d_dataset(dir.path("grid")); }, {"dataset.json", "not a 3D detector dataset"});
}

// Trains `o` on the ball cohort; the training loss must fall under half its first epoch's.
void train_on_balls(const Detector3dTrainOptions& o) {
    const auto epochs = train_detector3d(o);
    ASSERT_EQ(epochs.size(), static_cast<std::size_t>(o.run.epochs));
    EXPECT_LT(epochs.back().train_loss, 0.5 * epochs.front().train_loss);
}

Detector3dRunOptions on_cpu(const std::string& model) {
    Detector3dRunOptions ro;
    ro.model = model;
    ro.device = "cpu";
    return ro;
}

TEST(TrainDetector3d, LearnsToPutThePeakOnTheBallOfANewFlippedScan) {
    test::TempDir dir;
    write_cohort(dir, 8);
    make_dataset(dir);
    const auto epochs = train_detector3d(tiny_options(dir, "run", 6));
    ASSERT_EQ(epochs.size(), 6u);
    EXPECT_LT(epochs.back().train_loss, 0.5 * epochs.front().train_loss);
    EXPECT_TRUE(fs::exists(dir.path("run/best.pt")));
    EXPECT_TRUE(fs::exists(dir.path("run/hard_negatives_6.json")));
    EXPECT_FALSE(fs::exists(dir.path("run/hard_negatives_4.json")));  // only the last two are kept
    Detector3dRunOptions ro;
    ro.model = dir.path("run/best.pt");
    ro.device = "cpu";
    const Detector3dRunner runner(ro);
    EXPECT_EQ(runner.card().grid.spacing_mm, 2.0);
    const BallsFound found = find_balls_by_top_peak(runner);
    EXPECT_EQ(found.empty, 0);  // with threshold 0 every scan has a peak
    const int hits = found.hits;
    EXPECT_GE(hits, 4) << "of " << test::test_directions().size();

    // Blobs beside the peaks (peaks.blobs_per_scan), on every test direction, the lungs the whole scan: with no
    // peak reachable the one blob is the ball, at the heatmap's value there; with a peak on the ball the blob is
    // covered and not added, so the scan keeps one candidate.
    Rng blob_rng(17);
    int covered = 0;
    for (const auto& [name, direction] : test::test_directions()) {
        Vec3 ball{};
        const auto scan = ball_scan(direction, blob_rng, ball);
        const Volume<std::uint8_t> lungs(scan.geometry, 1);
        PeakOptions blobs_only;
        blobs_only.threshold = 0.999;
        blobs_only.blobs_per_scan = 1;
        const auto b = detect_scan_3d("x", scan, lungs, runner, blobs_only, 1);
        ASSERT_EQ(b.size(), 1u) << name;
        const Vec3& w = b[0].candidate.world;
        EXPECT_LT(std::hypot(w[0] - ball[0], w[1] - ball[1], w[2] - ball[2]), 1.5) << name;
        EXPECT_LT(b[0].candidate.probability, 0.999) << name;
        EXPECT_EQ(detect_scan_3d("x", scan, lungs, runner, PeakOptions{0.999, 4, 100, 0.5, 0}, 1).size(), 0u) << name;
        PeakOptions one_peak = blobs_only;
        one_peak.threshold = 0;
        one_peak.max_per_scan = 1;
        const auto p = detect_scan_3d("x", scan, lungs, runner, one_peak, 1);
        ASSERT_FALSE(p.empty()) << name;
        const Vec3& pw = p[0].candidate.world;
        if (std::hypot(pw[0] - ball[0], pw[1] - ball[1], pw[2] - ball[2]) < 3.0) {
            EXPECT_EQ(p.size(), 1u) << name;
            ++covered;
        } else {
            EXPECT_EQ(p.size(), 2u) << name;
        }
    }
    EXPECT_GE(covered, 4);

    // Test-time mirrors: flips = 2 is the mean of the box's pass and its x-mirror's pass mirrored back (a box whose
    // sides fill the tile exactly, so mirroring the tile is mirroring the box).
    Rng rng(5);
    Geometry g;
    g.size = {24, 20, 16};
    Volume<std::uint8_t> box(g, 0), mirrored(g, 0);
    for (std::int64_t k = 0; k < 16; ++k)
        for (std::int64_t j = 0; j < 20; ++j)
            for (std::int64_t i = 0; i < 24; ++i) {
                const double r = std::hypot(static_cast<double>(i) - 9, static_cast<double>(j) - 10, static_cast<double>(k) - 8);
                box.at(i, j, k) = static_cast<std::uint8_t>(r < 3 ? 200 : rng.integer(0, 40));
            }
    for (std::int64_t k = 0; k < 16; ++k)
        for (std::int64_t j = 0; j < 20; ++j)
            for (std::int64_t i = 0; i < 24; ++i) mirrored.at(i, j, k) = box.at(23 - i, j, k);
    ro.flips = 2;
    const Detector3dRunner two(ro);
    const HeatmapVolumes a = runner.run(box), b = runner.run(mirrored), c = two.run(box);
    double largest = 0;
    for (std::int64_t k = 0; k < 16; ++k)
        for (std::int64_t j = 0; j < 20; ++j)
            for (std::int64_t i = 0; i < 24; ++i) {
                ASSERT_NEAR(c.heat.at(i, j, k), (a.heat.at(i, j, k) + b.heat.at(23 - i, j, k)) / 2, 1e-5);
                ASSERT_NEAR(std::log(c.diameter_mm.at(i, j, k)), (std::log(a.diameter_mm.at(i, j, k)) + std::log(b.diameter_mm.at(23 - i, j, k))) / 2, 1e-4);
                largest = std::max(largest, std::abs(double{c.heat.at(i, j, k)} - a.heat.at(i, j, k)));
            }
    EXPECT_GT(largest, 1e-4);  // the mirrored pass does change the heat
    ro.flips = 9;
    test::expect_error([&] { const Detector3dRunner nine(ro); }, {"flips must be between 1 and 8, got 9"});
}

// The segmentation head through the same trainer: the balls as targets, the runner's probability, and the strongest
// component on a new scan's ball on most test directions; a run with the other head refuses its checkpoint, and only
// the segmentation head's options name it (the heatmap runs' stage keys stay what they were).
TEST(TrainDetector3d, SegmentationHeadFindsTheBallAsAComponent) {
    test::TempDir dir;
    write_cohort(dir, 8);
    make_dataset(dir);
    Detector3dTrainOptions o = tiny_options(dir, "seg", 10);  // Dice moves off 1 later than the focal loss
    o.head = Detector3dHead::Segmentation;
    train_on_balls(o);
    const Detector3dRunner runner(on_cpu(dir.path("seg/best.pt")));
    EXPECT_EQ(runner.card().head, Detector3dHead::Segmentation);
    PeakOptions peaks;
    peaks.max_per_scan = 1;
    const BallsFound found = find_balls(runner, peaks);
    EXPECT_TRUE(found.sized);
    const int hits = found.hits;
    EXPECT_GE(hits, 4) << "of " << test::test_directions().size();

    Detector3dTrainOptions other = o;
    other.head = Detector3dHead::Heatmap;
    other.run.epochs = 11;
    other.run.resume = true;
    test::expect_error([&] { train_detector3d(other); }, {"last.pt", "trained with the segmentation head, this run trains the heatmap head"});
    EXPECT_EQ(nlohmann::json(o).at("head"), "segmentation");
    EXPECT_FALSE(nlohmann::json(other).contains("head"));
    Detector3dTrainOptions back;
    nlohmann::json(o).get_to(back);
    EXPECT_EQ(back.head, Detector3dHead::Segmentation);
}

// The glass window through the trainer: the run's network and card see two channels, the runner rebuilds it from
// the card and still finds the balls; a run on the lung window alone refuses its checkpoint, and only a run with the
// glass window names it in its options (the others' stage keys stay what they were).
TEST(TrainDetector3d, GlassWindowRunKeepsItInItsCardAndFindsTheBall) {
    test::TempDir dir;
    write_cohort(dir, 8);
    make_dataset(dir);
    Detector3dTrainOptions o = tiny_options(dir, "glass", 6);
    o.net.input = Detector3dInput::LungAndGlass;
    train_on_balls(o);
    const Detector3dRunner runner(on_cpu(dir.path("glass/best.pt")));
    EXPECT_EQ(runner.card().net.input, Detector3dInput::LungAndGlass);
    const int hits = find_balls_by_top_peak(runner).hits;
    EXPECT_GE(hits, 4) << "of " << test::test_directions().size();

    Detector3dTrainOptions lung = o;
    lung.net.input = Detector3dInput::Lung;
    lung.run.epochs = 7;
    lung.run.resume = true;
    test::expect_error([&] { train_detector3d(lung); }, {"last.pt", "model sees the lung+glass input, this run trains on lung"});
    EXPECT_EQ(nlohmann::json(o).at("input"), "lung+glass");
    EXPECT_FALSE(nlohmann::json(lung).contains("input"));
    Detector3dTrainOptions back;
    nlohmann::json(o).get_to(back);
    EXPECT_EQ(back.net.input, Detector3dInput::LungAndGlass);
}

// The lung mask through the dataset, the trainer and the runner: the dataset stores each box's mask beside it, the
// run's network takes two channels and still finds the balls, its card says so, and the runner refuses a box
// without the mask; a dataset built without masks is refused by a lung+mask run, naming the dataset.
TEST(TrainDetector3d, LungMaskRunFeedsTheMaskFromItsDatasetAndFindsTheBall) {
    test::TempDir dir;
    write_cohort(dir, 8, true);
    Detector3dTrainOptions o = tiny_options(dir, "mask", 6);
    o.net.input = Detector3dInput::LungAndMask;
    make_dataset(dir);
    test::expect_error([&] { train_detector3d(o); }, {"dataset.json", "has no lung masks"});

    const Detector3dDataset set = make_dataset(dir, true);
    for (const Detector3dScan& sc : set.scans) {
        EXPECT_EQ(sc.lungs_file, sc.uid + "_lungs.npy");
        // The box's mask: the ball inside the lungs, the wall and the margin beyond it outside.
        const NpyArray<std::uint8_t> m = read_npy<std::uint8_t>(dir.path("grid/" + sc.lungs_file));
        ASSERT_EQ(m.data.size(), static_cast<std::size_t>(sc.geometry.size[0] * sc.geometry.size[1] * sc.geometry.size[2]));
        const Vec3& c = sc.nodules.at(0).index;
        EXPECT_EQ(m.data[static_cast<std::size_t>(std::llround(c[0]) + sc.geometry.size[0] * (std::llround(c[1]) + sc.geometry.size[1] * std::llround(c[2])))], 255);
        EXPECT_EQ(m.data.front(), 0);
        const auto inside = std::count(m.data.begin(), m.data.end(), 255);
        EXPECT_GT(inside, static_cast<std::ptrdiff_t>(m.data.size() / 4));
        EXPECT_LT(inside, static_cast<std::ptrdiff_t>(m.data.size()));
    }
    EXPECT_EQ(read_detector3d_dataset(dir.path("grid")).scans.at(0).lungs_file, "s0_lungs.npy");
    train_on_balls(o);
    const Detector3dRunner runner(on_cpu(dir.path("mask/best.pt")));
    EXPECT_EQ(runner.card().net.input, Detector3dInput::LungAndMask);
    const int hits = find_balls_by_top_peak(runner, true).hits;
    EXPECT_GE(hits, 4) << "of " << test::test_directions().size();
    Rng rng(5);
    Vec3 ball{};
    const auto scan = ball_scan(identity3(), rng, ball);
    const auto box = lung_box_on_grid(scan, Volume<std::uint8_t>(scan.geometry, 1), runner.card().grid);
    test::expect_error([&] { runner.run(box); }, {"lung+mask", "needs the mask on the box's grid"});
    const auto mask = lungs_on_grid(Volume<std::uint8_t>(scan.geometry, 1), box.geometry);
    EXPECT_EQ(runner.run(box, &mask).heat.geometry, box.geometry);
    EXPECT_EQ(nlohmann::json(o).at("input"), "lung+mask");
}

// keep = Final: best.pt holds the last epoch's weights whatever the validation loss did; best-validation: the
// epoch of the lowest loss. Training itself is the same either way.
TEST(TrainDetector3d, KeepFinalHoldsTheLastEpochBestValidationTheLowestLoss) {
    test::TempDir dir;
    write_cohort(dir, 5);
    make_dataset(dir);
    Detector3dTrainOptions o = tiny_options(dir, "best", 4);
    o.run.lr = 3e-2;  // a step large enough that the validation loss goes up again within four epochs
    const auto by_loss = train_detector3d(o);
    o.run.run_dir = dir.path("final");
    o.run.keep = KeepWeights::Final;
    const auto final_run = train_detector3d(o);
    ASSERT_EQ(by_loss.size(), 4u);
    ASSERT_EQ(final_run.size(), 4u);
    std::size_t lowest = 0;
    for (std::size_t e = 0; e < by_loss.size(); ++e) {
        EXPECT_EQ(by_loss[e].val_loss, final_run[e].val_loss) << "epoch " << e + 1;
        if (by_loss[e].val_loss < by_loss[lowest].val_loss) lowest = e;
    }
    // The case worth testing: the lowest validation loss is not the last epoch's (checked, so the test cannot pass
    // vacuously if the draw changes).
    ASSERT_NE(lowest, 3u) << "validation losses " << by_loss[0].val_loss << " " << by_loss[1].val_loss << " " << by_loss[2].val_loss << " " << by_loss[3].val_loss;
    Detector3dCard best_card, final_card, last_card;
    load_detector3d(dir.path("best/best.pt"), best_card);
    EXPECT_EQ(best_card.epoch, static_cast<int>(lowest) + 1);
    const Detector3d kept = load_detector3d(dir.path("final/best.pt"), final_card);
    const Detector3d last = load_detector3d(dir.path("best/last.pt"), last_card);
    EXPECT_EQ(final_card.epoch, 4);
    EXPECT_DOUBLE_EQ(final_card.best_score, 1 / (1 + final_run.back().val_loss));
    const auto pk = kept->named_parameters(), pl = last->named_parameters();
    for (const auto& p : pk) EXPECT_TRUE(torch::equal(p.value(), pl[p.key()])) << p.key();
    EXPECT_NE(test::read_text(dir.path("final/config.json")).find("\"keep\": \"final\""), std::string::npos);
}

TEST(TrainDetector3d, ResumedRunEqualsAnUninterruptedOne) {
    test::TempDir dir;
    write_cohort(dir, 4);
    make_dataset(dir);
    train_detector3d(tiny_options(dir, "whole", 2));
    train_detector3d(tiny_options(dir, "split", 1));
    Detector3dTrainOptions resume = tiny_options(dir, "split", 2);
    resume.run.resume = true;
    train_detector3d(resume);
    Detector3dCard a, b;
    const Detector3d whole = load_detector3d(dir.path("whole/last.pt"), a);
    const Detector3d split = load_detector3d(dir.path("split/last.pt"), b);
    EXPECT_EQ(a.epoch, 2);
    EXPECT_EQ(b.epoch, 2);
    const auto pa = whole->named_parameters(), pb = split->named_parameters();
    for (const auto& p : pa) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
    EXPECT_EQ(test::read_text(dir.path("whole/metrics.csv")).substr(0, 40), test::read_text(dir.path("split/metrics.csv")).substr(0, 40));
    // Another network's checkpoint is refused by name.
    test::expect_error([&] { Detector3dCard c; load_detector3d(dir.path("grid/dataset.json"), c); }, {"dataset.json"});
}

std::vector<std::string> lines_of(const std::string& path) {
    std::vector<std::string> out;
    std::istringstream in(test::read_text(path));
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// Nodule mining: after each epoch every training nodule's score (its heatmap peak, in [0, 1]) is written beside the
// hard negatives, the next epoch draws its nodule patches by them (epoch 1, before any score, is the plain run's), a
// run resumed after epoch 1 reads them back and ends where an uninterrupted one does, and edited scores change the
// draws.
TEST(TrainDetector3d, NoduleMiningScoresTheTrainingNodulesAndResumesOnThem) {
    test::TempDir dir;
    write_cohort(dir, 5);
    const Detector3dDataset set = make_dataset(dir);
    std::size_t training_nodules = 0;
    for (const Detector3dScan& s : set.scans)
        if (!s.validation) training_nodules += s.nodules.size();
    ASSERT_EQ(training_nodules, 4u);
    const auto mining = [&](const std::string& run, int epochs) {
        Detector3dTrainOptions o = tiny_options(dir, run, epochs);
        o.nodule_mining = true;
        return o;
    };
    train_detector3d(tiny_options(dir, "plain", 2));
    train_detector3d(mining("whole", 2));
    const auto scores = nlohmann::json::parse(test::read_text(dir.path("whole/nodule_scores_2.json"))).get<std::vector<double>>();
    ASSERT_EQ(scores.size(), training_nodules);
    for (double s : scores) {
        EXPECT_GE(s, 0.0);
        EXPECT_LE(s, 1.0);
    }
    EXPECT_TRUE(std::filesystem::exists(dir.path("whole/nodule_scores_1.json")));
    EXPECT_FALSE(std::filesystem::exists(dir.path("plain/nodule_scores_1.json")));
    const std::vector<std::string> plain = lines_of(dir.path("plain/metrics.csv")), whole = lines_of(dir.path("whole/metrics.csv"));
    ASSERT_EQ(plain.size(), 3u);
    ASSERT_EQ(whole.size(), 3u);
    const auto loss = [](const std::string& row) { return row.substr(0, row.find(',', row.find(',') + 1)); };  // epoch,train_loss
    EXPECT_EQ(loss(plain[1]), loss(whole[1]));
    train_detector3d(mining("split", 1));
    Detector3dTrainOptions resume = mining("split", 2);
    resume.run.resume = true;
    train_detector3d(resume);
    EXPECT_EQ(loss(lines_of(dir.path("split/metrics.csv")).at(2)), loss(whole[2]));
    Detector3dCard a, b;
    const Detector3d w = load_detector3d(dir.path("whole/last.pt"), a), sp = load_detector3d(dir.path("split/last.pt"), b);
    const auto pa = w->named_parameters(), pb = sp->named_parameters();
    for (const auto& p : pa) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
    // The draws follow the scores: the same run with its epoch-1 scores edited (one nodule missed, three found; the
    // network's own were all about 0.015) trains another epoch 2.
    train_detector3d(mining("edited", 1));
    test::write_text(dir.path("edited/nodule_scores_1.json"), "[0, 1, 1, 1]\n");
    Detector3dTrainOptions edited = mining("edited", 2);
    edited.run.resume = true;
    train_detector3d(edited);
    EXPECT_NE(loss(lines_of(dir.path("edited/metrics.csv")).at(2)), loss(whole[2]));
    // A scores file that does not fit the dataset is refused by name on resume.
    test::write_text(dir.path("split/nodule_scores_2.json"), "[0.5]\n");
    Detector3dTrainOptions more = mining("split", 3);
    more.run.resume = true;
    test::expect_error([&] { train_detector3d(more); }, {"nodule_scores_2.json", "1 scores for 4 training nodules"});
}

// The largest difference between two checkpoints' parameters: per tensor, the norm of the difference relative to
// the tensor's norm. (Not element by element: Adam scales each weight's step by its own gradient history, so a weight
// whose batch gradient nearly cancels magnifies the round-off of summing it in another order — up to 2e-4 of its
// tensor's largest weight here, while each tensor as a whole agrees to 1e-5.)
double relative_difference(const std::string& a_path, const std::string& b_path) {
    Detector3dCard ca, cb;
    const Detector3d a = load_detector3d(a_path, ca), b = load_detector3d(b_path, cb);
    const auto pa = a->parameters(), pb = b->parameters();
    EXPECT_EQ(pa.size(), pb.size());
    double worst = 0;
    for (std::size_t i = 0; i < pa.size() && i < pb.size(); ++i)
        worst = std::max(worst, ((pa[i] - pb[i]).norm() / pb[i].norm().clamp_min(1e-12)).item<double>());
    return worst;
}

// train-3d's library call as two ranks of batch 2 sharing one run folder: rank 0 builds RUN/grid3d while rank 1
// waits, and both end where one process of batch 4 ends (no batch norm, whose statistics are per rank), for either
// head. On a 1 mm grid a patch holds the ball or not, so the two ranks' halves of a step hold different numbers of
// centre voxels, and a rank normalising its loss by its own count trains differently (50 % apart, checked).
TEST(TrainDetector3d, TwoRanksOnACohortTrainLikeOneProcessOfTheirJointBatch) {
    if (!rank_groups_available()) GTEST_SKIP() << "this build has no c10d Gloo (libgloo-dev)";
    test::TempDir dir;
    write_cohort(dir, 5);
    Detector3dDatasetOptions d;
    d.data_dir = dir.path("data");
    d.annotations = dir.path("data/annotations.csv");
    d.grid.spacing_mm = 1.0;
    d.val_fraction = 0.2;
    for (const Detector3dHead head : {Detector3dHead::Heatmap, Detector3dHead::Segmentation}) {
        const std::string name = enum_name(head, kDetector3dHeadNames);
        SCOPED_TRACE(name);
        const auto options = [&](const std::string& run, int batch) {
            Detector3dTrainOptions t = tiny_options(dir, name + "_" + run, 2);
            t.head = head;
            t.nodule_fraction = 0.75;  // a step of 4 patches without a ball is rare (its loss is the raw sum)
            t.epoch_samples = 24;
            t.run.lr = 1e-3;
            // Seeds 4, 5, 6: 2.2e-6, 9e-7, 5e-7 (heatmap), 2e-6, 9e-7, 3e-7 (segmentation); seed 3: 9.8e-6 (a step
            // without a ball, whose raw sum magnifies round-off). The same without the global counts: 0.5.
            t.run.seed = 4;
            t.net.batch_norm = false;
            t.run.batch = batch;
            return t;
        };
        const Detector3dCohortResult one = train_detector3d_on_cohort(d, options("one", 4));
        ASSERT_EQ(one.epochs.size(), 2u);
        std::vector<Detector3dCohortResult> ranks(2);
        const std::vector<std::string> errors = test::run_as_ranks(2, [&](const WorldSpec& world) {
            Detector3dTrainOptions t = options("two", 2);
            t.run.world = world;
            t.run.dist_timeout_s = 30;
            ranks[static_cast<std::size_t>(world.rank)] = train_detector3d_on_cohort(d, t);
        });
        EXPECT_EQ(errors[0], "");
        EXPECT_EQ(errors[1], "");
        EXPECT_FALSE(ranks[0].reused);  // rank 0 built it ...
        EXPECT_TRUE(ranks[1].reused);   // ... rank 1 opened it
        EXPECT_EQ(ranks[1].set.scans.size(), 5u);
        ASSERT_EQ(ranks[0].epochs.size(), 2u);
        for (std::size_t e = 0; e < 2; ++e) {
            EXPECT_NEAR(ranks[0].epochs[e].train_loss, one.epochs[e].train_loss, 1e-5 * std::abs(one.epochs[e].train_loss));
            EXPECT_NEAR(ranks[0].epochs[e].val_loss, one.epochs[e].val_loss, 1e-5 * std::abs(one.epochs[e].val_loss));
            EXPECT_EQ(ranks[0].epochs[e].hard_negatives, one.epochs[e].hard_negatives);
        }
        EXPECT_LE(relative_difference(dir.path(name + "_two/last.pt"), dir.path(name + "_one/last.pt")), 1e-5);
        // Meaningful only because training moves the weights far more: the weights after the first epoch (a
        // one-epoch run) against those after the second.
        Detector3dTrainOptions first = options("first", 4);
        first.run.epochs = 1;
        EXPECT_FALSE(train_detector3d_on_cohort(d, first).reused);
        EXPECT_GT(relative_difference(dir.path(name + "_first/last.pt"), dir.path(name + "_one/last.pt")), 1e-2);
    }
    // A second call with the same cohort, grid and seed (the split's) reuses the dataset; another seed or grid
    // builds it again.
    Detector3dTrainOptions again = tiny_options(dir, "heatmap_one", 1);
    again.run.seed = 4;
    EXPECT_TRUE(train_detector3d_on_cohort(d, again).reused);
    again.run.seed = 5;
    EXPECT_FALSE(train_detector3d_on_cohort(d, again).reused);
    d.grid.spacing_mm = 2.0;
    EXPECT_FALSE(train_detector3d_on_cohort(d, again).reused);
    EXPECT_TRUE(train_detector3d_on_cohort(d, again).reused);
}

}  // namespace
}  // namespace nodulecad
