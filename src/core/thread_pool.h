#pragma once
// A fixed-size thread pool with a bounded parallel_for. Exceptions thrown by tasks are captured and
// re-thrown on the calling thread, so a failing worker never goes unnoticed.

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

namespace wisesr {

class ThreadPool {
 public:
  /// threads == 0 runs every task inline on the caller (useful for tests and 1-core ranks).
  explicit ThreadPool(size_t threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t size() const { return workers_.size(); }

  /// Run fn(i) for i in [0, n) across the pool and the calling thread; returns when all are done.
  /// The first exception thrown by any fn is re-thrown here.
  void parallel_for(size_t n, const std::function<void(size_t)>& fn);

 private:
  void worker_loop();

  std::vector<std::thread> workers_;
  std::queue<std::function<void()>> tasks_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
};

}  // namespace wisesr
