#pragma once
// Batches from a ShardSet. A prefetch thread hands each batch to a thread pool whose workers read
// their records (pread, see ShardReader), decode them with a reusable libjpeg-turbo decompressor per
// thread straight into the batch's (optionally pinned) uint8 buffer, and compute each sample's
// augmentation parameters; finished batches wait in a bounded queue (prefetch depth).
// The BatchTransform (augmentation + normalisation) then runs either here, on the CPU in the prefetch
// thread (CPU training), or on the GPU after an async copy (DeviceFeed): the same ops either way.
// With a GpuJpegDecoder (--data.decode nvjpeg) the workers only read and CRC-check the records and the
// prefetch thread decodes the whole batch on the GPU: Batch::pixels is then already on the device.

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
#include "data/augment.h"
#include "data/nvjpeg_decoder.h"
#include "data/shard_set.h"

namespace wisesr::data {

struct LoaderOptions {
  int batch_size = 32;
  int workers = 0;           // decode threads besides the prefetch thread
  int prefetch = 2;          // batches prepared ahead
  bool drop_last = true;     // training: every batch full; evaluation: keep the last partial batch
  bool random_crop = false;  // short-side shards: seeded random square crop (training), else the centre
  uint64_t seed = 0;
  uint64_t epoch = 0;
  /// Augmentation + normalisation; null = none, caffe, at the stored size.
  std::shared_ptr<const BatchTransform> transform;
  /// Apply the transform in the loader (Batch::images); false leaves Batch::pixels + params for the
  /// consumer to transform on its device.
  bool transform_in_loader = true;
  bool pin_memory = false;  // page-locked pixel buffers, for async copies to a GPU
  /// Decode JPEG records on this GPU (nvJPEG) instead of in the worker threads; needs
  /// transform_in_loader = false. Raw shards ignore it (nothing to decode).
  std::shared_ptr<GpuJpegDecoder> gpu_decoder;
  /// Corrupt records (CRC mismatch, undecodable, wrong size) tolerated before the loader fails. Each one
  /// is replaced by zeros with valid = false and a warning naming shard and index. Shared by every
  /// loader given the same counter (e.g. all epochs of a run).
  int64_t max_bad_records = 0;
  std::shared_ptr<std::atomic<int64_t>> bad_records;  // null: a counter of this loader's own
};

struct Batch {
  torch::Tensor images;  // (N,3,S,S) float32, transformed and normalised (undefined when not yet)
  torch::Tensor pixels;  // (N,H,W,3) uint8 RGB as decoded, when the consumer transforms (on the GPU with nvJPEG)
  torch::Tensor params;  // (N, kTransformParams) float32 per-sample transforms, with pixels
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
  /// Output side of the batches (after the transform).
  int out_size() const { return transform_->out_size(); }
  const BatchTransform& transform() const { return *transform_; }

 private:
  void produce();
  Batch make_batch(size_t b);
  /// A batch buffer: a pooled one that nobody references any more, or a new one. Large CPU buffers
  /// come from mmap and would otherwise be page-faulted in again for every batch.
  torch::Tensor buffer(at::IntArrayRef sizes, const torch::TensorOptions& options);

  const ShardSet& set_;
  std::vector<uint64_t> indices_;
  LoaderOptions opt_;
  std::shared_ptr<const BatchTransform> transform_;
  int64_t crop_h_ = 0, crop_w_ = 0;  // pixel buffer size: every record's, or the short-side crop
  size_t num_batches_ = 0;
  size_t consumed_ = 0;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Batch> ready_;
  std::exception_ptr error_;
  bool stop_ = false;
  bool done_ = false;
  std::unique_ptr<ThreadPool> pool_;  // decode workers; the prefetch thread joins in too
  std::vector<torch::Tensor> buffers_;  // producer thread only
  std::vector<std::vector<uint8_t>> encoded_;  // nvJPEG: the batch's JPEG bytes (producer's batch only)
  std::thread thread_;
};

}  // namespace wisesr::data
