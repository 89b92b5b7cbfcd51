#pragma once
// CPU time this process has used so far (user + system, all its threads), in seconds. Beside the wall clock it
// tells how many cores a step kept busy, and so where a run waits (reading, writing, serial steps) instead of
// computing. Plain C++ over POSIX getrusage.

namespace nodulecad {

double process_cpu_seconds();

}  // namespace nodulecad
