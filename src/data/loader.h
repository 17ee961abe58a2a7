#pragma once
// Batches from a ShardSet. A prefetch thread hands each batch to a thread pool whose workers read
// their records (pread, see ShardReader), decode them with a reusable libjpeg-turbo decompressor per
// thread straight into the batch's buffer, and compute each sample's augmentation parameters; finished
// batches wait in a bounded queue (prefetch depth). How a batch is delivered is fixed per loader
// (LoaderOptions::delivery, Note [Batch delivery]).
//
// Usage (data/device_feed.h does steps 2 and 4 for a training device):
//   1. LoaderOptions o;  o.batch_size = 64;  o.transform = std::make_shared<BatchTransform>(...);
//   2. o.delivery = ...;  (set_delivery(o, device, plan) in data/device_feed.h picks it for a device)
//   3. Loader loader(set, indices, o);        // starts the prefetch thread
//   4. while (auto batch = loader.next()) ... // batch->images, or pixels + params to transform
//
// Note [Batch delivery]
// ~~~~~~~~~~~~~~~~~~~~~
// Three paths, one small function each in loader.cpp, chosen once when the loader is made:
//   kHostImages    the CPU does it all (CPU training, evaluation on the CPU): each worker transforms its
//                  sample right after decoding it, cache-warm (BatchTransform::apply_cpu), into the
//                  float batch; sizes the fused kernel does not take are transformed batched on the CPU.
//                  Batch::images is set.
//   kHostPixels    pixels for the device: decoded uint8 RGB (page-locked with pin_memory, for an async
//                  copy) plus each sample's transform parameters; the consumer transforms them on its
//                  device with the same ops (DeviceFeed on a GPU). Batch::pixels + params are set.
//   kDevicePixels  decoded on the device: the workers only read and CRC-check the records, the prefetch
//                  thread decodes the whole batch with nvJPEG (gpu_decoder); Batch::pixels is already on
//                  the GPU, with params. Raw shards have nothing to decode: they are delivered as
//                  kHostPixels (pinned) instead.

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

#include "core/enum.h"
#include "core/thread_pool.h"
#include "data/augment.h"
#include "data/nvjpeg_decoder.h"
#include "data/shard_set.h"

namespace wisesr::data {

/// What a Loader hands out (Note [Batch delivery]).
enum class Delivery { kHostImages, kHostPixels, kDevicePixels };
constexpr auto enum_names(Delivery) {
  return std::array{EnumName{Delivery::kHostImages, "host images"},
                    EnumName{Delivery::kHostPixels, "host pixels"},
                    EnumName{Delivery::kDevicePixels, "device pixels"}};
}

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
  Delivery delivery = Delivery::kHostImages;
  bool pin_memory = false;                      // kHostPixels: page-locked pixel buffers, for a GPU
  std::shared_ptr<GpuJpegDecoder> gpu_decoder;  // kDevicePixels (only): the decoder
  /// Corrupt records (CRC mismatch, undecodable, wrong size) tolerated before the loader fails. Each one
  /// is replaced by zeros with valid = false and a warning naming shard and index. Shared by every
  /// loader given the same counter (e.g. all epochs of a run).
  int64_t max_bad_records = 0;
  std::shared_ptr<std::atomic<int64_t>> bad_records;  // null: a counter of this loader's own
};

/// One batch. Which tensors are set depends on the loader's Delivery (Note [Batch delivery]); what a
/// training step receives (after DeviceFeed) always has images, labels and valid on its device.
struct Batch {
  torch::Tensor images;  // (N,3,S,S) float32, transformed and normalised (kHostImages; after DeviceFeed)
  torch::Tensor pixels;  // (N,H,W,3) uint8 RGB as decoded (kHostPixels: host; kDevicePixels: GPU)
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
  /// How batches are delivered (LoaderOptions::delivery, except raw shards: see Note [Batch delivery]).
  Delivery delivery() const { return delivery_; }

 private:
  struct Window;  // the part of a record a batch takes
  struct Slots;   // per batch: indices, labels, transform parameters, why a sample was skipped
  void produce();
  Batch make_batch(size_t b);
  Slots slots(size_t b) const;
  SampleTransform prepare(Slots& s, size_t i) const;  // label and transform of sample i
  Window read(uint64_t record, std::vector<uint8_t>& bytes) const;
  const uint8_t* decoded(const std::vector<uint8_t>& bytes, const Window& w,
                         std::vector<uint8_t>& scratch) const;
  // The three paths of Note [Batch delivery]; each fills the batch's pixels or images.
  Batch decode_transformed(Slots& s);
  Batch decode_pixels(Slots& s, bool pinned);
  Batch decode_on_device(Slots& s);
  void skip_invalid(const Slots& s, Batch& batch) const;  // count and report the corrupt records
  /// A batch buffer: a pooled one that nobody references any more, or a new one. Large CPU buffers
  /// come from mmap and would otherwise be page-faulted in again for every batch.
  torch::Tensor buffer(at::IntArrayRef sizes, const torch::TensorOptions& options);

  const ShardSet& set_;
  std::vector<uint64_t> indices_;
  LoaderOptions opt_;
  std::shared_ptr<const BatchTransform> transform_;
  Delivery delivery_ = Delivery::kHostImages;
  bool raw_ = false;    // uint8 RGB records: nothing to decode
  bool crop_ = false;   // short-side records: a square window of each
  bool fused_ = false;  // kHostImages with the fused per-sample CPU transform (BatchTransform::fused_cpu)
  int64_t crop_h_ = 0, crop_w_ = 0;  // pixel buffer size: every record's, or the short-side crop
  size_t num_batches_ = 0;
  size_t consumed_ = 0;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Batch> ready_;
  std::exception_ptr error_;
  bool stop_ = false;
  bool done_ = false;
  std::unique_ptr<ThreadPool> pool_;           // decode workers; the prefetch thread joins in too
  std::vector<torch::Tensor> buffers_;         // producer thread only
  std::vector<std::vector<uint8_t>> encoded_;  // nvJPEG: the batch's JPEG bytes (producer's batch only)
  std::thread thread_;
};

}  // namespace wisesr::data
