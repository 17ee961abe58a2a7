#pragma once
// Batches on the training device, ready for the model. On a GPU the loader leaves decoded uint8
// pixels in page-locked memory; the feed copies batch k+1 to the GPU on a side stream while the
// model works on batch k, and the augmentation + normalisation (BatchTransform) runs on the GPU on
// the consumer's stream after waiting on the copy's event. On the CPU the loader has already
// transformed the batch in its prefetch thread and the feed passes it through.
//
// Usage: construct the Loader with LoaderOptions from feed_loader_options(...), then
// `while (auto b = feed.next()) ...`. Not thread-safe: one consumer thread.

#include <torch/torch.h>

#include <memory>
#include <optional>

#include "data/loader.h"

namespace wisesr::data {

/// Adjust loader options for batches that will be fed to `device` (pinned pixels + deferred
/// transform on CUDA; transform in the loader on the CPU).
void configure_for_device(LoaderOptions& options, const torch::Device& device);

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
