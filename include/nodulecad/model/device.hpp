#pragma once
// The process's compute set-up, for programs that use the networks (plain C++; implemented with LibTorch).
namespace nodulecad {

// LibTorch's intra-op threads for the whole process (torch::set_num_threads). The command line calls it once per
// run; library functions never do for longer than a call (ComputeThreadsScope), so an embedding program keeps
// control of its threads.
void set_compute_threads(int threads);

// LibTorch's intra-op threads set to `threads` for this object's life, then put back as they were. For a call that
// spreads its own work over threads, each running the network with one compute thread: threads started inside the
// scope take its count on their first LibTorch call; threads that already ran LibTorch keep theirs.
class ComputeThreadsScope {
public:
    explicit ComputeThreadsScope(int threads);
    ~ComputeThreadsScope();
    ComputeThreadsScope(const ComputeThreadsScope&) = delete;
    ComputeThreadsScope& operator=(const ComputeThreadsScope&) = delete;

private:
    int previous_;
};

// Whether this LibTorch sees a CUDA device.
bool cuda_available();

}  // namespace nodulecad
