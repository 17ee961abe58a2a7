#pragma once
// Batches from a ShardSet: a prefetch thread reads records (the only thread touching HDF5 while the
// loader lives), a thread pool decodes JPEGs in parallel, and finished batches wait in a bounded
// queue. Batches are CPU tensors; the trainer moves them to its device.

#include <torch/torch.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/thread_pool.h"
#include "data/shard_set.h"

namespace wisesr::data {

struct LoaderOptions {
  int batch_size = 32;
  int workers = 0;        // decode threads besides the prefetch thread
  int prefetch = 2;       // batches prepared ahead
  bool drop_last = true;  // training: every batch full; evaluation: keep the last partial batch
  int image_size = 0;     // output side; 0 = as stored
  bool hflip = false;
  bool vflip = false;
  bool random_crop = false;  // short-side shards: seeded random crop (training) instead of the centre
  uint64_t seed = 0;
  uint64_t epoch = 0;
  /// Corrupt records (CRC mismatch, undecodable, wrong size) tolerated before the loader fails. Each one
  /// is replaced by zeros with valid = false and a warning naming shard and index. Shared by every
  /// loader given the same counter (e.g. all epochs of a run).
  int64_t max_bad_records = 0;
  std::shared_ptr<std::atomic<int64_t>> bad_records;  // null: a counter of this loader's own
};

struct Batch {
  torch::Tensor images;  // (N,3,S,S) float32, caffe-preprocessed (BGR, mean-subtracted)
  torch::Tensor labels;  // (N) int64
  torch::Tensor valid;   // (N) bool: false for a corrupt record that was skipped (zeros in images)
  int64_t num_invalid = 0;
};

class Loader {
 public:
  Loader(const ShardSet& set, std::vector<uint64_t> indices, LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  size_t num_batches() const { return num_batches_; }
  /// The next batch, or nullopt at the end. Re-throws any error of the prefetch/decode threads.
  std::optional<Batch> next();

 private:
  void produce();
  Batch make_batch(size_t b);

  const ShardSet& set_;
  std::vector<uint64_t> indices_;
  LoaderOptions opt_;
  size_t num_batches_ = 0;
  size_t consumed_ = 0;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Batch> ready_;
  std::exception_ptr error_;
  bool stop_ = false;
  bool done_ = false;
  std::unique_ptr<ThreadPool> pool_;  // decode workers; the prefetch thread joins in too
  std::thread thread_;
};

}  // namespace wisesr::data
