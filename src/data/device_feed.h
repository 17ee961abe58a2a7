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
// Usage: plan_decode(...) once, configure_for_device(options, device, plan) for each Loader, then
// `while (auto b = feed.next()) ...`. Not thread-safe: one consumer thread.

#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>

#include "data/loader.h"

namespace wisesr::data {

/// How records are decoded on their way to a device.
struct DecodePlan {
  std::string mode = "cpu";  // cpu (libjpeg-turbo threads) | nvjpeg (GPU, batched) | none (raw shards)
  std::shared_ptr<GpuJpegDecoder> gpu;  // with nvjpeg; keep the plan alive to keep the decoder
  /// One line for logs, e.g. "nvjpeg (hardware (7 engines x 1 cores), cuda:0)".
  std::string describe() const;
};

/// Resolve --data.decode `mode` (auto | cpu | nvjpeg) for shards of `storage` (jpeg | raw) read onto
/// `device`. auto: nvJPEG on a CUDA device when this build has it and its self-check passes (a
/// warning says why not otherwise), else the CPU. nvjpeg without a CUDA device or without nvJPEG in
/// the build throws a one-line wisesr::Error. Raw shards need no decoding whatever the mode.
/// `option` names the setting in messages (--data.decode for train, --decode for eval and bench data).
DecodePlan plan_decode(const std::string& mode, const torch::Device& device, const std::string& storage,
                       const std::string& option = "--data.decode");

/// Adjust loader options for batches that will be fed to `device` (pinned pixels + deferred
/// transform on CUDA; transform in the loader on the CPU) and decoded as `plan` says.
void configure_for_device(LoaderOptions& options, const torch::Device& device, const DecodePlan& plan = {});

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
