#include "train/runtime.h"

#include <thread>

#include "core/error.h"

namespace wisesr::train {

torch::Device select_device(const std::string& preference, const comm::ProcessGroupInfo& info) {
  const bool have_cuda = torch::cuda::is_available();
  if (preference == "cpu" || (preference == "auto" && !have_cuda)) return torch::Device(torch::kCPU);
  WISESR_CHECK(have_cuda, "--device cuda requested but no CUDA GPU is available");
  const int gpus = static_cast<int>(torch::cuda::device_count());
  WISESR_CHECK(info.local_size <= gpus, info.local_size, " ranks on this node but only ", gpus,
               " GPU(s): start one rank per GPU");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(info.local_rank));
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
