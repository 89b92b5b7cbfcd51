#include <gtest/gtest.h>

#include <map>
#include <string>

#include "nodulecad/core/error.hpp"
#include "nodulecad/core/launch.hpp"

namespace nodulecad {
namespace {

using Env = std::map<std::string, std::string>;

WorldSpec world_of(const Env& env) {
    return world_from_environment([&env](const char* name) -> const char* {
        const auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    });
}

std::string error_of(const Env& env) {
    try {
        world_of(env);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(Launch, NoVariablesIsOneProcess) {
    const WorldSpec w = world_of({});
    EXPECT_FALSE(w.distributed());
    EXPECT_EQ(w.rank, 0);
    EXPECT_EQ(w.size, 1);
    EXPECT_EQ(w.launcher, Launcher::None);
}

TEST(Launch, ByHandAndTorchrun) {
    const WorldSpec w = world_of({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "10.0.0.2"}, {"MASTER_PORT", "29501"}});
    EXPECT_TRUE(w.distributed());
    EXPECT_EQ(w.rank, 3);
    EXPECT_EQ(w.size, 4);
    EXPECT_EQ(w.local_rank, 1);
    EXPECT_EQ(w.master_addr, "10.0.0.2");
    EXPECT_EQ(w.master_port, 29501);
    EXPECT_EQ(w.launcher, Launcher::Env);
    EXPECT_FALSE(w.agent_store());
    EXPECT_EQ(w.describe(), "rank 3 of 4 (RANK/WORLD_SIZE, store 10.0.0.2:29501)");
    // torchrun's agent hosts the store: every rank, rank 0 included, connects to it as a client.
    const WorldSpec t = world_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}, {"TORCHELASTIC_USE_AGENT_STORE", "True"}});
    EXPECT_EQ(t.launcher, Launcher::Torchrun);
    EXPECT_TRUE(t.agent_store());
    // WORLD_SIZE=1 (torchrun --nproc-per-node 1) is one process and needs no store.
    EXPECT_FALSE(world_of({{"RANK", "0"}, {"WORLD_SIZE", "1"}}).distributed());
}

TEST(Launch, SlurmCountsOnlyWithAStoreAddress) {
    const Env slurm = {{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"}};
    // An sbatch script's own shell: Slurm's variables but no MASTER_ADDR -> one process, not a rank waiting forever.
    EXPECT_FALSE(world_of(slurm).distributed());
    Env with = slurm;
    with["MASTER_ADDR"] = "node001";
    with["MASTER_PORT"] = "29500";
    const WorldSpec w = world_of(with);
    EXPECT_EQ(w.launcher, Launcher::Slurm);
    EXPECT_EQ(w.rank, 5);
    EXPECT_EQ(w.size, 8);
    EXPECT_EQ(w.local_rank, 1);
    // WORLD_SIZE wins over Slurm's variables.
    with["WORLD_SIZE"] = "2";
    with["RANK"] = "1";
    EXPECT_EQ(world_of(with).launcher, Launcher::Env);
    EXPECT_EQ(world_of(with).size, 2);
}

TEST(Launch, BadEnvironmentsAreOneLineErrors) {
    EXPECT_EQ(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}}),
              "WORLD_SIZE=2 is set but MASTER_ADDR is not: export MASTER_ADDR and MASTER_PORT (the rendezvous host and port; torchrun sets "
              "them, examples/ shows Slurm)");
    EXPECT_EQ(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}), "WORLD_SIZE=2 is set but MASTER_PORT is not: export it with MASTER_ADDR");
    EXPECT_EQ(error_of({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}}), "environment variable RANK=2 must be below WORLD_SIZE=2");
    EXPECT_EQ(error_of({{"WORLD_SIZE", "two"}}), "environment variable WORLD_SIZE=\"two\" is not a whole number");
    EXPECT_EQ(error_of({{"WORLD_SIZE", "0"}}), "environment variable WORLD_SIZE=0 must be between 1 and 1048576");
    EXPECT_EQ(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}}),
              "environment variable MASTER_PORT=70000 must be between 1 and 65535");
    EXPECT_EQ(error_of({{"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}}), "WORLD_SIZE=2 is set but RANK is not: give every process its RANK");
    EXPECT_EQ(error_of({{"SLURM_NTASKS", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}}),
              "SLURM_NTASKS=2 and MASTER_ADDR are set but SLURM_PROCID is not: start the ranks with srun");
}

TEST(Launch, ShardsNeedNoStore) {
    const auto world = [](const Env& env) {
        return world_from_environment(
            [&env](const char* name) -> const char* {
                const auto it = env.find(name);
                return it == env.end() ? nullptr : it->second.c_str();
            },
            Rendezvous::None);
    };
    const WorldSpec w = world({{"RANK", "1"}, {"WORLD_SIZE", "3"}});
    EXPECT_EQ(shard_for("", w).describe(), "1/3");
    EXPECT_TRUE(w.master_addr.empty());
    EXPECT_EQ(w.describe(), "rank 1 of 3 (RANK/WORLD_SIZE)");
    // Slurm's variables still count only with MASTER_ADDR: an sbatch script's shell is one process.
    EXPECT_FALSE(world({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}}).distributed());
    // A bad value is still an error.
    EXPECT_THROW(world({{"RANK", "3"}, {"WORLD_SIZE", "3"}}), Error);
}

TEST(Launch, ShardsPartitionTheItemsInAStableOrder) {
    const Shard s = parse_shard("1/3");
    EXPECT_EQ(s.index, 1);
    EXPECT_EQ(s.count, 3);
    EXPECT_EQ(s.describe(), "1/3");
    std::string held;
    for (std::size_t i = 0; i < 8; ++i)
        if (s.holds(i)) held += std::to_string(i);
    EXPECT_EQ(held, "147");
    // Every item in exactly one of the N shards.
    for (std::size_t i = 0; i < 20; ++i) {
        int owners = 0;
        for (int k = 0; k < 3; ++k) owners += Shard{k, 3}.holds(i) ? 1 : 0;
        EXPECT_EQ(owners, 1) << i;
    }
    EXPECT_TRUE(parse_shard("0/1").all());
}

TEST(Launch, BadShardsNameTheOption) {
    const auto problem = [](const std::string& text) {
        try {
            parse_shard(text);
        } catch (const OptionError& e) {
            EXPECT_EQ(e.option(), "shard");
            return e.problem();
        }
        return std::string();
    };
    EXPECT_EQ(problem("3/2"), "needs K below N (shards 0 to 1), got \"3/2\"");
    EXPECT_EQ(problem("2/2"), "needs K below N (shards 0 to 1), got \"2/2\"");
    EXPECT_EQ(problem("0/0"), "needs N >= 1, got \"0/0\"");
    EXPECT_EQ(problem("1"), "must be K/N (shard K of N, counted from 0), got \"1\"");
    EXPECT_EQ(problem("-1/2"), "must be K/N (shard K of N, counted from 0), got \"-1/2\"");
    EXPECT_EQ(problem("a/b"), "must be K/N (shard K of N, counted from 0), got \"a/b\"");
}

TEST(Launch, ShardFromTheLauncherOrTheOption) {
    WorldSpec w;
    EXPECT_TRUE(shard_for("", w).all());
    EXPECT_EQ(shard_for("2/5", w).index, 2);
    w.rank = 1;
    w.size = 3;
    w.launcher = Launcher::Slurm;
    EXPECT_EQ(shard_for("", w).describe(), "1/3");
    EXPECT_EQ(shard_for("1/3", w).describe(), "1/3");
    EXPECT_THROW(shard_for("0/3", w), OptionError);
}

}  // namespace
}  // namespace nodulecad
