#pragma once
// The process's compute set-up, for programs that use the networks (plain C++; implemented with LibTorch).
namespace nodulecad {

// LibTorch's intra-op threads for the whole process (torch::set_num_threads). The command line calls it once per
// run; library functions never do, so an embedding program keeps control of its threads.
void set_compute_threads(int threads);

// Whether this LibTorch sees a CUDA device.
bool cuda_available();

}  // namespace nodulecad
