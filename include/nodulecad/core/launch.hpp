#pragma once
// Where this process stands among the processes of one job: its rank and the world's size as the launchers people
// already run describe them (torchrun, Slurm's srun, or by hand), and which share of a per-scan stage's items it
// handles (`--shard K/N`). Plain C++: read by the command line, used by the trainer's process group (train) and the
// per-scan stages. docs/distributed.md.
#include <cstddef>
#include <functional>
#include <string>

namespace nodulecad {

enum class Launcher {
    None,     // one process, as without any launcher
    Env,      // RANK / WORLD_SIZE / LOCAL_RANK by hand, or torchrun (which sets the same variables)
    Torchrun, // the same variables, and torchrun's agent hosts the rendezvous store (TORCHELASTIC_USE_AGENT_STORE)
    Slurm,    // SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID, with MASTER_ADDR and MASTER_PORT exported by the script
};

struct WorldSpec {
    int rank = 0, size = 1, local_rank = 0;
    std::string master_addr;  // the rendezvous store's host (rank 0's, or torchrun's agent's)
    int master_port = 0;
    Launcher launcher = Launcher::None;

    bool distributed() const { return size > 1; }
    bool agent_store() const { return launcher == Launcher::Torchrun; }  // the store exists: rank 0 is a client
    std::string describe() const;  // "rank 1 of 2 (torchrun, store 127.0.0.1:29500)"
};

// The job as the environment describes it; `getenv` is the lookup (std::getenv unless a test gives its own).
// WORLD_SIZE wins over Slurm's variables; Slurm's count only with MASTER_ADDR set (an sbatch script's own shell
// also carries SLURM_NTASKS, and must not wait for ranks that were never started). Errors (Error, one line naming
// the variable): a value that is not a whole number or out of range, RANK >= WORLD_SIZE, WORLD_SIZE > 1 without
// MASTER_ADDR or MASTER_PORT.
// `Rendezvous::None`: for commands that only split their items (the shards below), which need no store — then
// WORLD_SIZE > 1 without MASTER_ADDR is fine (Slurm's variables still count only with it).
enum class Rendezvous { Needed, None };
using EnvLookup = std::function<const char*(const char*)>;
WorldSpec world_from_environment(const EnvLookup& getenv, Rendezvous rendezvous = Rendezvous::Needed);
WorldSpec world_from_environment(Rendezvous rendezvous = Rendezvous::Needed);

// Shard K of N (0 <= K < N) of a per-scan stage: items K, K + N, K + 2N, ... of the stage's stable order.
struct Shard {
    int index = 0, count = 1;
    bool all() const { return count == 1; }
    bool holds(std::size_t item) const { return static_cast<int>(item % static_cast<std::size_t>(count)) == index; }
    std::string describe() const;  // "1/3"
};

// "K/N" as `--shard` takes it: OptionError("shard", ...) for anything else, N < 1 or K outside [0, N).
Shard parse_shard(const std::string& text);

// The shard a command handles: the one given with --shard (`given` non-empty), else the world's rank of its size
// when the process was started by a launcher, else all items. A `--shard` that disagrees with a launcher's world is
// an OptionError (two answers to one question).
Shard shard_for(const std::string& given, const WorldSpec& world);
// The same for this process's environment (read with Rendezvous::None).
Shard shard_for(const std::string& given);

}  // namespace nodulecad
