// LUNA16 evaluation on the real tables (888 scans, 1,186 nodules, 35,192 excluded findings) with 100 marks per
// scan. Goal: well under a second without bootstrap (the official Python script: about 5 s).
#include <benchmark/benchmark.h>

#include <filesystem>

#include <map>

#include "nodulecad/core/random.hpp"
#include "nodulecad/evaluate/froc.hpp"
#include "nodulecad/io/tables.hpp"


namespace {

using namespace nodulecad;

struct Luna {
    std::vector<Annotation> ann, exc;
    std::vector<std::string> uids;
    std::vector<Candidate> marks;
    bool ok = false;
    Luna() {
        const std::string dir = NODULECAD_LUNA16_DIR;
        if (!std::filesystem::exists(dir + "/annotations.csv")) return;
        ann = read_annotations(dir + "/annotations.csv");
        exc = read_annotations(dir + "/annotations_excluded.csv");
        uids = read_seriesuids(dir + "/seriesuids.csv");
        // 100 marks per scan: one near each nodule (three in four), the rest spread over the chest.
        Rng rng(1);
        std::map<std::string, std::vector<const Annotation*>> by;
        for (const auto& a : ann) by[a.seriesuid].push_back(&a);
        for (const auto& u : uids) {
            int n = 0;
            for (const Annotation* a : by[u])
                if (rng.chance(0.75) && n < 100) marks.push_back({u, {a->world[0] + rng.uniform(-1, 1), a->world[1], a->world[2]}, rng.uniform()}), ++n;
            for (; n < 100; ++n) marks.push_back({u, {rng.uniform(-200, 200), rng.uniform(-200, 200), rng.uniform(-400, 0)}, rng.uniform()});
        }
        ok = true;
    }
};

const Luna& luna() {
    static const Luna l;
    return l;
}

void BM_EvaluateLuna16_888x100(benchmark::State& state) {
    const Luna& l = luna();
    if (!l.ok) {
        state.SkipWithError("LUNA16 annotation files not found");
        return;
    }
    for (auto _ : state) benchmark::DoNotOptimize(evaluate_froc(l.ann, l.exc, l.uids, l.marks).cpm);
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(l.marks.size()));
}
BENCHMARK(BM_EvaluateLuna16_888x100)->Unit(benchmark::kMillisecond);

void BM_EvaluateLuna16_Bootstrap1000(benchmark::State& state) {
    const Luna& l = luna();
    if (!l.ok) {
        state.SkipWithError("LUNA16 annotation files not found");
        return;
    }
    const FrocResult r = evaluate_froc(l.ann, l.exc, l.uids, l.marks);
    for (auto _ : state) benchmark::DoNotOptimize(bootstrap_froc(r, 1000, 0).cpm_lo);
}
BENCHMARK(BM_EvaluateLuna16_Bootstrap1000)->Unit(benchmark::kMillisecond);

}  // namespace
