#include "data/device_feed.h"

#include "core/error.h"
#include "core/log.h"
#include "core/strings.h"

#if __has_include(<ATen/cuda/CUDAEvent.h>)
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#define WISESR_FEED_CUDA 1
#else
#define WISESR_FEED_CUDA 0
#endif

namespace wisesr::data {

struct DeviceFeed::Staged {
  Batch batch;  // device tensors (pixels/params still untransformed on CUDA)
#if WISESR_FEED_CUDA
  std::optional<at::cuda::CUDAEvent> copied;
#endif
};

std::string DecodePlan::describe() const {
  if (!gpu) return mode;
  return mode + " (" + gpu->backend() + ", cuda:" + std::to_string(gpu->device()) + ")";
}

DecodePlan plan_decode(Decode mode, const torch::Device& device, const std::string& storage) {
  DecodePlan plan;
  if (storage == "raw") {
    plan.mode = "none";
    return plan;
  }
  if (mode == Decode::kCpu || (mode == Decode::kAuto && (!device.is_cuda() || !nvjpeg_compiled())))
    return plan;
  WISESR_CHECK(device.is_cuda(), "--data.decode nvjpeg needs a CUDA device (this run is on ", device.str(),
               "); use --data.decode cpu or auto");
  try {
    plan.gpu = GpuJpegDecoder::create_checked(device.index() < 0 ? 0 : device.index());
    plan.mode = "nvjpeg";
  } catch (const std::exception& e) {  // wisesr::Error, or torch's for a CUDA failure in the self-check
    if (mode == Decode::kNvjpeg) throw;
    const auto* ours = dynamic_cast<const Error*>(&e);
    LOG_WARN("--data.decode auto: decoding on the CPU, nvJPEG is not usable: "
             << first_line(ours ? ours->message() : e.what()));
  }
  return plan;
}

void set_delivery(LoaderOptions& options, const torch::Device& device, const DecodePlan& plan) {
  options.pin_memory = false;
  options.gpu_decoder = nullptr;
  if (!device.is_cuda()) {
    options.delivery = Delivery::kHostImages;
  } else if (plan.gpu) {
    options.delivery = Delivery::kDevicePixels;  // nvJPEG writes to the GPU; nothing big is copied
    options.gpu_decoder = plan.gpu;
  } else {
    options.delivery = Delivery::kHostPixels;
    options.pin_memory = true;
  }
}

DeviceFeed::DeviceFeed(Loader& loader, torch::Device device) : loader_(loader), device_(device) {
  WISESR_CHECK(!device_.is_cuda() || WISESR_FEED_CUDA, "this build has no CUDA support for the input feed");
}

DeviceFeed::~DeviceFeed() = default;

std::unique_ptr<DeviceFeed::Staged> DeviceFeed::stage(std::optional<Batch> host) {
  if (!host) return nullptr;
  auto staged = std::make_unique<Staged>();
  Batch& b = host.value();
#if WISESR_FEED_CUDA
  if (device_.is_cuda() && loader_.delivery() != Delivery::kHostImages) {
    // Copy on a side stream so the copy overlaps the model's work on the current batch. The tensors
    // are allocated on the side stream; next() marks them as used by the consumer's stream.
    auto side = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device_.index());
    c10::cuda::CUDAStreamGuard guard(side);
    staged->batch.pixels = b.pixels.to(device_, /*non_blocking=*/true);
    staged->batch.params = b.params.to(device_, /*non_blocking=*/true);
    staged->batch.labels = b.labels.to(device_, /*non_blocking=*/true);
    staged->batch.valid = b.valid.to(device_, /*non_blocking=*/true);
    staged->batch.num_invalid = b.num_invalid;
    staged->copied.emplace();
    staged->copied->record(side);
    return staged;
  }
#endif
  staged->batch.images = b.images.to(device_);
  staged->batch.labels = b.labels.to(device_);
  staged->batch.valid = b.valid.to(device_);
  staged->batch.num_invalid = b.num_invalid;
  return staged;
}

std::optional<Batch> DeviceFeed::next() {
  if (!started_) {
    ahead_ = stage(loader_.next());
    started_ = true;
  }
  std::unique_ptr<Staged> current = std::move(ahead_);
  if (!current) return std::nullopt;
  ahead_ = stage(loader_.next());  // in flight while the caller computes on `current`
  Batch out = std::move(current->batch);
#if WISESR_FEED_CUDA
  if (current->copied) {
    auto stream = c10::cuda::getCurrentCUDAStream(device_.index());
    current->copied->block(stream);
    for (auto* t : {&out.pixels, &out.params, &out.labels, &out.valid}) t->record_stream(stream);
    out.images = loader_.transform().apply(out.pixels, out.params);
    out.pixels = torch::Tensor();
    out.params = torch::Tensor();
  }
#endif
  return out;
}

}  // namespace wisesr::data
