#pragma once
// Batches on the training device, ready for the model. On a GPU the loader leaves decoded uint8
// pixels in page-locked memory; the feed copies batch k+1 to the GPU on a side stream while the
// model works on batch k, and the augmentation + normalisation (BatchTransform) runs on the GPU on
// the consumer's stream after waiting on the copy's event. On the CPU the loader has already
// transformed the batch in its prefetch thread and the feed passes it through.
//
// With --data.decode nvjpeg the loader's batches arrive with their pixels already on the GPU (decoded
// by nvJPEG in the prefetch thread) and only the small tensors are copied.
//
// Usage:
//   1. DecodePlan plan = plan_decode(options.decode, device, set.manifest().storage);   // once per run
//   2. per Loader: set_delivery(loader_options, device, plan);
//   3. Loader loader(set, indices, loader_options);  DeviceFeed feed(loader, device);
//   4. while (auto b = feed.next()) ...   // b->images, labels, valid on the device
// Not thread-safe: one consumer thread. Keep the plan alive as long as loaders use its decoder; pass
// it (not the decode mode) to whoever else reads the same data on the same device (evaluation), so one
// nvJPEG decoder serves them all.

#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>

#include "data/data_options.h"
#include "data/loader.h"

namespace wisesr::data {

/// How records are decoded on their way to a device: resolved once from --data.decode and passed
/// explicitly to every loader (and evaluation) that reads them.
struct DecodePlan {
  std::string mode = "cpu";  // cpu (libjpeg-turbo threads) | nvjpeg (GPU, batched) | none (raw shards)
  std::shared_ptr<GpuJpegDecoder> gpu;  // with nvjpeg; keep the plan alive to keep the decoder
  /// One line for logs, e.g. "nvjpeg (hardware (7 engines x 1 cores), cuda:0)".
  std::string describe() const;
};

/// Resolve --data.decode `mode` for shards of `storage` (jpeg | raw) read onto `device`. kAuto: nvJPEG
/// on a CUDA device when this build has it and its self-check passes (a warning says why not
/// otherwise), else the CPU. kNvjpeg without a CUDA device or without nvJPEG in the build throws a
/// one-line wisesr::Error. Raw shards need no decoding whatever the mode. With nvJPEG the plan holds a
/// new, self-checked decoder.
DecodePlan plan_decode(Decode mode, const torch::Device& device, const std::string& storage);

/// How a loader whose batches go to `device`, decoded as `plan` says, delivers them (Note [Batch
/// delivery] in data/loader.h): transformed on the CPU for a CPU device; for CUDA, pinned pixels the
/// GPU transforms, or pixels nvJPEG decoded on it. Sets options.delivery, pin_memory and gpu_decoder.
void set_delivery(LoaderOptions& options, const torch::Device& device, const DecodePlan& plan = {});

class DeviceFeed {
 public:
  DeviceFeed(Loader& loader, torch::Device device);
  ~DeviceFeed();
  DeviceFeed(const DeviceFeed&) = delete;
  DeviceFeed& operator=(const DeviceFeed&) = delete;

  /// The next batch with images, labels and valid on the device, or nullopt at the end.
  std::optional<Batch> next();

 private:
  struct Staged;
  std::unique_ptr<Staged> stage(std::optional<Batch> host);

  Loader& loader_;
  torch::Device device_;
  std::unique_ptr<Staged> ahead_;  // CUDA: the batch whose copy is in flight
  bool started_ = false;
};

}  // namespace wisesr::data
