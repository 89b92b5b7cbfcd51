#include "nodulecad/core/cpu_time.hpp"

#include <sys/resource.h>

namespace nodulecad {

namespace {
double seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; }
}  // namespace

double process_cpu_seconds() {
    rusage u{};
    if (getrusage(RUSAGE_SELF, &u) != 0) return 0;  // cannot fail for RUSAGE_SELF with a valid pointer
    return seconds(u.ru_utime) + seconds(u.ru_stime);
}

}  // namespace nodulecad
