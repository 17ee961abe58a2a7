#include "core/thread_pool.h"

#include <atomic>
#include <exception>

namespace wisesr {

ThreadPool::ThreadPool(size_t threads) {
  workers_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::worker_loop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
      if (stop_ && tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop();
    }
    task();
  }
}

void ThreadPool::parallel_for(size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto drain = [&] {
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = n;  // stop handing out work
      }
    }
  };
  size_t helpers = std::min(workers_.size(), n - 1);
  std::mutex done_mutex;
  std::condition_variable done_cv;
  size_t done = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t h = 0; h < helpers; ++h) {
      tasks_.push([&] {
        drain();
        std::lock_guard<std::mutex> l(done_mutex);
        ++done;
        done_cv.notify_one();
      });
    }
  }
  cv_.notify_all();
  drain();
  std::unique_lock<std::mutex> lock(done_mutex);
  done_cv.wait(lock, [&] { return done == helpers; });
  if (error) std::rethrow_exception(error);
}

}  // namespace wisesr
