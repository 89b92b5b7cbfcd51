#pragma once
// The ranks of one training run, on PyTorch's own c10d: a TCPStore for the rendezvous (rank 0's, or torchrun's
// agent's) and ProcessGroupGloo for the collectives — the process groups torchrun and DDP use, no protocol of our
// own. The trainer sums each step's gradients over the ranks with it. Include only from torch translation units.
// docs/distributed.md.
#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <vector>

#include "nodulecad/core/launch.hpp"

namespace nodulecad {

// Whether this build carries c10d's Gloo process group (LibTorch's headers with libgloo-dev's).
bool rank_groups_available();

class RankGroup {
public:
    // Joins the world's other ranks; every collective after this fails, rather than hangs, when a rank dies or
    // stalls for longer than `timeout`: an Error naming this rank and, on one machine, the rank that is gone.
    RankGroup(const WorldSpec& world, std::chrono::seconds timeout);
    ~RankGroup();
    RankGroup(const RankGroup&) = delete;
    RankGroup& operator=(const RankGroup&) = delete;

    int rank() const;
    int size() const;
    // Rank 0's values into every rank's tensors (the parameters and buffers at the start).
    void broadcast_from_first(const std::vector<torch::Tensor>& tensors);
    // Each tensor replaced by its sum over the ranks, in flattened buckets of at most 16 MiB per collective.
    void sum(const std::vector<torch::Tensor>& tensors);
    // Every rank has reached this point; `timeout` > 0 replaces the group's for this wait (a rank that ends is
    // noticed at once either way).
    void barrier(std::chrono::seconds timeout = std::chrono::seconds(0));

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace nodulecad
