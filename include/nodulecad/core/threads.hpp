#pragma once
// Deterministic data parallelism: parallel_for(n, threads, f) calls f(i) once for every i in [0, n), spread over
// `threads` workers. Callers make f(i) depend only on i (per-index RNG streams, disjoint outputs), so results are
// identical for any thread count. The first exception thrown by f is rethrown in the caller.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace nodulecad {

inline int default_thread_count() {
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int>(n);
}

template <class F> void parallel_for(std::int64_t n, int threads, F&& f) {
    threads = static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(threads, n)));
    if (threads <= 1) {
        for (std::int64_t i = 0; i < n; ++i) f(i);
        return;
    }
    std::atomic<std::int64_t> next{0};
    std::exception_ptr error;
    std::mutex error_mutex;
    const auto worker = [&] {
        for (;;) {
            const std::int64_t i = next.fetch_add(1);
            if (i >= n) return;
            try {
                f(i);
            } catch (...) {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (!error) error = std::current_exception();
                next.store(n);
            }
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    if (error) std::rethrow_exception(error);
}

}  // namespace nodulecad
