#include "nodulecad/model/device.hpp"

#include <torch/torch.h>

#include <algorithm>

namespace nodulecad {

void set_compute_threads(int threads) { torch::set_num_threads(std::max(1, threads)); }

ComputeThreadsScope::ComputeThreadsScope(int threads) : previous_(torch::get_num_threads()) { set_compute_threads(threads); }

ComputeThreadsScope::~ComputeThreadsScope() { set_compute_threads(previous_); }

bool cuda_available() { return torch::cuda::is_available(); }

}  // namespace nodulecad
