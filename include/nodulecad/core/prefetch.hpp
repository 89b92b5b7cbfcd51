#pragma once
// Ordered prefetching: items 0..n-1 are made by make(i) on `workers` background threads, at most `depth` ahead of
// the consumer, and next() hands them out in index order. make(i) must depend on i only (per-index RNG streams),
// so the sequence is the same for any number of workers. An exception thrown by make is rethrown by next() when
// its item is due; destroying the prefetcher early stops the workers.
// Why: a GPU step of the U-Net takes tens of milliseconds, while augmenting a batch of 512-px slices on one thread
// takes longer; the batches must be ready when the step ends.
#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace nodulecad {

template <class T> class OrderedPrefetcher {
public:
    OrderedPrefetcher(std::size_t n, int workers, std::size_t depth, std::function<T(std::size_t)> make)
        : make_(std::move(make)), n_(n), depth_(std::max<std::size_t>(1, depth)) {
        const int count = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(std::max(1, workers)), std::max<std::size_t>(1, n)));
        for (int w = 0; w < count; ++w) threads_.emplace_back([this] { work(); });
    }
    ~OrderedPrefetcher() {
        {
            std::lock_guard<std::mutex> lock(m_);
            stop_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_) t.join();
    }
    OrderedPrefetcher(const OrderedPrefetcher&) = delete;
    OrderedPrefetcher& operator=(const OrderedPrefetcher&) = delete;

    // The next item in order; false after the last one.
    bool next(T& out) {
        std::unique_lock<std::mutex> lock(m_);
        if (taken_ >= n_) return false;
        cv_.wait(lock, [&] { return ready_.count(taken_) > 0 || errors_.count(taken_) > 0; });
        const auto failed = errors_.find(taken_);
        if (failed != errors_.end()) {
            stop_ = true;
            cv_.notify_all();
            std::rethrow_exception(failed->second);
        }
        const auto it = ready_.find(taken_);
        out = std::move(it->second);
        ready_.erase(it);
        ++taken_;
        cv_.notify_all();
        return true;
    }

private:
    void work() {
        for (;;) {
            std::size_t i;
            {
                std::unique_lock<std::mutex> lock(m_);
                cv_.wait(lock, [&] { return stop_ || claimed_ >= n_ || claimed_ < taken_ + depth_; });
                if (stop_ || claimed_ >= n_) return;
                i = claimed_++;
            }
            try {
                T item = make_(i);
                std::lock_guard<std::mutex> lock(m_);
                ready_.emplace(i, std::move(item));
            } catch (...) {
                std::lock_guard<std::mutex> lock(m_);
                errors_.emplace(i, std::current_exception());
            }
            cv_.notify_all();
        }
    }

    std::function<T(std::size_t)> make_;
    std::size_t n_, depth_, claimed_ = 0, taken_ = 0;
    std::map<std::size_t, T> ready_;
    std::map<std::size_t, std::exception_ptr> errors_;
    std::mutex m_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace nodulecad
