// The epoch sampler of U-Net training (train/sampling): slice-uniform passes and nodule-balanced draws.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>

#include "nodulecad/core/error.hpp"
#include "nodulecad/train/sampling.hpp"
#include "test_util.hpp"

namespace nodulecad {
namespace {

// Rows 0-9: a large nodule over 10 slices (weight 0.1 each); rows 10-11: a small one over 2 slices (0.5 each);
// row 12: both nodules on one slice is not possible here, so rows 12-19 are negatives; row 20 is validation only.
SamplePool two_nodules() {
    SamplePool p;
    for (std::int64_t r = 0; r < 20; ++r) p.rows.push_back(r);
    for (int r = 0; r < 21; ++r) {
        p.positive.push_back(r < 12);
        p.nodule_weight.push_back(r < 10 ? 0.1 : r < 12 ? 0.5 : 0.0);
    }
    return p;
}

// What `epochs` epochs of 100 nodule-sampled draws from a two_nodules() pool visit: "large", "small", "negative".
std::map<std::string, int> draws_by_nodule(const SamplePool& p, int epochs, std::uint64_t seed) {
    Rng rng(seed);
    std::map<std::string, int> seen;
    for (int e = 0; e < epochs; ++e)
        for (const std::int64_t r : sample_epoch(p, 100, Sampling::Nodules, rng)) ++seen[r < 10 ? "large" : r < 12 ? "small" : "negative"];
    return seen;
}

TEST(Sampling, SlicesVisitsEverySampleOncePerPass) {
    const SamplePool p = two_nodules();
    Rng rng(7);
    std::vector<std::int64_t> order = sample_epoch(p, 50, Sampling::Slices, rng);
    ASSERT_EQ(order.size(), 50u);
    // Two full passes, then 10 of a third: each pass a permutation of the training rows.
    for (int pass = 0; pass < 2; ++pass) {
        std::vector<std::int64_t> one(order.begin() + pass * 20, order.begin() + (pass + 1) * 20);
        std::sort(one.begin(), one.end());
        EXPECT_EQ(one, p.rows);
    }
    std::vector<std::int64_t> tail(order.begin() + 40, order.end());
    std::sort(tail.begin(), tail.end());
    EXPECT_TRUE(std::adjacent_find(tail.begin(), tail.end()) == tail.end());
    EXPECT_TRUE(std::none_of(order.begin(), order.end(), [](std::int64_t r) { return r == 20; }));
}

TEST(Sampling, NodulesDrawsEachNoduleEquallyAndKeepsTheNegativeShare) {
    const int epochs = 200;
    std::map<std::string, int> seen = draws_by_nodule(two_nodules(), epochs, 11);
    // 12 of 20 rows are positive: 60 positive draws and 40 negatives an epoch; by slice the large nodule would get
    // 50 of the 60, by nodule each gets 30.
    EXPECT_EQ(seen["negative"], 40 * epochs);
    EXPECT_EQ(seen["large"] + seen["small"], 60 * epochs);
    EXPECT_NEAR(seen["small"] / double(epochs), 30.0, 1.5);
    EXPECT_NEAR(seen["large"] / double(epochs), 30.0, 1.5);
}

// Nodule mining: a scored row's weight is times 1.25 - score (clamped to [0, 1]), an unscored one's stays; then the
// small nodule scoring 0 comes up five times as often as the large one scoring 1, the negatives keeping their share.
TEST(Sampling, ScoresWeighTheWorstSegmentedNodulesUpToFiveTimes) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> scores(21, nan);
    for (int r = 0; r < 10; ++r) scores[static_cast<std::size_t>(r)] = r == 0 ? 1.7 : 1.0;  // 1.7 counts as 1
    scores[10] = 0.0;
    scores[11] = -0.2;  // counts as 0
    const SamplePool w = weigh_by_scores(two_nodules(), scores);
    EXPECT_DOUBLE_EQ(w.nodule_weight[0], 0.1 * 0.25);
    EXPECT_DOUBLE_EQ(w.nodule_weight[9], 0.1 * 0.25);
    EXPECT_DOUBLE_EQ(w.nodule_weight[10], 0.5 * 1.25);
    EXPECT_DOUBLE_EQ(w.nodule_weight[11], 0.5 * 1.25);
    EXPECT_DOUBLE_EQ(w.nodule_weight[12], 0.0);
    EXPECT_EQ(w.rows, two_nodules().rows);
    scores[10] = 0.6;  // a middling score: 1.25 - 0.6
    EXPECT_DOUBLE_EQ(weigh_by_scores(two_nodules(), scores).nodule_weight[10], 0.5 * 0.65);
    scores[10] = 0.0;

    const int epochs = 200;
    std::map<std::string, int> seen = draws_by_nodule(w, epochs, 12);
    EXPECT_EQ(seen["negative"], 40 * epochs);
    EXPECT_NEAR(seen["small"] / double(epochs), 50.0, 1.5);  // 60 positive draws, 5 : 1
    EXPECT_NEAR(seen["large"] / double(epochs), 10.0, 1.5);

    test::expect_error([] { weigh_by_scores(two_nodules(), std::vector<double>(20, 0.5)); }, {"20 nodule scores for 21 samples"});
}

TEST(Sampling, NodulesWithoutNegativesOrPositives) {
    SamplePool p = two_nodules();
    p.rows = {0, 1, 10};  // positives only: every draw by weight (0.1 + 0.1 + 0.5)
    Rng rng(3);
    int small = 0;
    const int n = 7000;
    for (const std::int64_t r : sample_epoch(p, n, Sampling::Nodules, rng)) small += r == 10;
    EXPECT_NEAR(small / double(n), 0.5 / 0.7, 0.02);
    p.rows = {13, 14, 15};  // negatives only: plain passes
    const std::vector<std::int64_t> order = sample_epoch(p, 6, Sampling::Nodules, rng);
    EXPECT_EQ(std::count(order.begin(), order.end(), 13), 2);
    EXPECT_EQ(std::count(order.begin(), order.end(), 15), 2);
}

TEST(Sampling, SameSeedSameOrderAndBadInputs) {
    const SamplePool p = two_nodules();
    Rng a(5), b(5);
    EXPECT_EQ(sample_epoch(p, 64, Sampling::Nodules, a), sample_epoch(p, 64, Sampling::Nodules, b));
    Rng c(5);
    test::expect_error([] { (void)parse_enum("sampling", "pixels", kSamplingNames); }, {"sampling must be slices or nodules, got 'pixels'"});
    SamplePool bad = p;
    bad.nodule_weight.clear();
    EXPECT_THROW((void)sample_epoch(bad, 10, Sampling::Nodules, c), Error);
}

}  // namespace
}  // namespace nodulecad
