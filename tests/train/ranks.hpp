#pragma once
// Several ranks of one job as threads of the test process, each with its own c10d process group over 127.0.0.1,
// as separate processes would have (the CLI test launches real ones).
#include <functional>
#include <string>
#include <vector>

#include "nodulecad/core/launch.hpp"

namespace nodulecad::test {

// A TCP port nothing listens on now (the kernel's pick).
int free_port();

// Runs body(world) for ranks 0 .. ranks-1 at once, each in its own thread with its WorldSpec (store on a free port),
// and returns what each threw ("" when nothing).
// `port` > 0: the store is there, hosted by someone else (torchrun's agent; launcher Torchrun), instead of rank 0's
// on a free port.
std::vector<std::string> run_as_ranks(int ranks, const std::function<void(const WorldSpec&)>& body, int port = 0);

}  // namespace nodulecad::test
