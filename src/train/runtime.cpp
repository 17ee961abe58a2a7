#include "train/runtime.h"

#include <thread>

#include <ATen/autocast_mode.h>

#include "core/error.h"

#if __has_include(<c10/cuda/CUDACachingAllocator.h>)
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#define WISESR_HAVE_CUDA_ALLOCATOR 1
#else
#define WISESR_HAVE_CUDA_ALLOCATOR 0
#endif

namespace wisesr::train {

#if WISESR_HAVE_CUDA_ALLOCATOR
struct TrainingStream::Impl {
  explicit Impl(const torch::Device& device)
      : guard(c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index())) {}
  c10::cuda::CUDAStreamGuard guard;
};

TrainingStream::TrainingStream(const torch::Device& device) {
  if (device.is_cuda()) impl_ = std::make_unique<Impl>(device);
}
#else
struct TrainingStream::Impl {};

TrainingStream::TrainingStream(const torch::Device& device) {
  WISESR_CHECK(!device.is_cuda(), "this build's LibTorch has no CUDA support");
}
#endif

TrainingStream::~TrainingStream() = default;

int gpu_for_rank(const comm::ProcessGroupInfo& info, int gpus_on_node) {
  WISESR_CHECK(info.local_size <= gpus_on_node, info.local_size, " ranks on this node but only ",
               gpus_on_node,
               " GPU(s): start one rank per GPU (launch/train.sh --gpus-per-node, or mpirun --map-by ppr:",
               gpus_on_node, ":node)");
  return info.local_rank;
}

torch::Device select_device(DeviceKind preference, const comm::ProcessGroupInfo& info) {
  const bool have_cuda = torch::cuda::is_available();
  if (preference == DeviceKind::kCpu || (preference == DeviceKind::kAuto && !have_cuda))
    return torch::Device(torch::kCPU);
  WISESR_CHECK(have_cuda, "--train.device cuda requested but no CUDA GPU is available");
  const int gpu = gpu_for_rank(info, static_cast<int>(torch::cuda::device_count()));
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(gpu));
}

Precision resolve_precision(Precision requested, const torch::Device& device) {
  if (requested == Precision::kAuto) return device.is_cuda() ? Precision::kBf16 : Precision::kFp32;
  WISESR_CHECK(requested != Precision::kFp16 || device.is_cuda(),
               "--train.precision fp16 needs a CUDA device");
  return requested;
}

AutocastScope::AutocastScope(const torch::Device& device, Precision precision)
    : type_(device.type()), old_dtype_(at::autocast::get_autocast_dtype(device.type())) {
  WISESR_CHECK(precision != Precision::kAuto, "AutocastScope needs a resolved precision (resolve_precision)");
  if (precision == Precision::kFp32) return;
  enabled_ = true;
  was_enabled_ = at::autocast::is_autocast_enabled(type_);
  at::autocast::set_autocast_dtype(type_, precision == Precision::kBf16 ? at::kBFloat16 : at::kHalf);
  at::autocast::set_autocast_enabled(type_, true);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!enabled_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(type_, was_enabled_);
  at::autocast::set_autocast_dtype(type_, old_dtype_);
}

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
  for (auto& b : module.buffers())
    if (b.dim() == 4) b.set_data(b.contiguous(torch::MemoryFormat::ChannelsLast));
}

int64_t peak_memory_bytes(const torch::Device& device) {
#if WISESR_HAVE_CUDA_ALLOCATOR
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
    return stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)].peak;
  }
#else
  (void)device;
#endif
  return 0;
}

int configure_threads(int requested, const comm::ProcessGroupInfo& info) {
  int threads = requested;
  if (threads <= 0) {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    threads = std::max(1, cores / std::max(1, info.local_size));
  }
  torch::set_num_threads(threads);
  return threads;
}

}  // namespace wisesr::train
