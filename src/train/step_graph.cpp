#include "train/step_graph.h"

#include "core/error.h"
#include "core/log.h"
#include "core/strings.h"

#if __has_include(<ATen/cuda/CUDAGraph.h>)
#include <ATen/autocast_mode.h>
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#define WISESR_CUDA_GRAPHS 1
#else
#define WISESR_CUDA_GRAPHS 0
#endif

namespace wisesr::train {

std::string graph_unsupported_reason(CudaGraph mode, const torch::Device& device, Precision precision,
                                     const comm::Communicator* collectives) {
  if (mode == CudaGraph::kOff) return "off";
  std::string why;
  if (!device.is_cuda()) {
    why = "the run is on the CPU";
  } else if (!WISESR_CUDA_GRAPHS) {
    why = "this build's LibTorch has no CUDA graphs";
  } else if (precision == Precision::kFp16) {
    why = "fp16 needs dynamic loss scaling, which reads the gradients' finiteness on the host every step";
  } else if (collectives && !collectives->capturable()) {
    why = "gradients are all-reduced with " + collectives->name() + ", which the host drives";
  }
  WISESR_CHECK(why.empty() || mode != CudaGraph::kOn, "--train.cuda_graph on: ", why);
  return why;
}

#if WISESR_CUDA_GRAPHS

struct StepGraph::Impl {
  at::cuda::CUDAGraph graph;
};

namespace {

// End a capture that an exception interrupted, so the stream is usable again; errors are cleared.
void abandon_capture(cudaStream_t stream) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(stream, &status) == cudaSuccess && status != cudaStreamCaptureStatusNone) {
    cudaGraph_t partial = nullptr;
    cudaStreamEndCapture(stream, &partial);
    if (partial != nullptr) cudaGraphDestroy(partial);
  }
  (void)cudaGetLastError();
}

}  // namespace

StepGraph::StepGraph(const torch::Device& device, const std::function<void()>& step, int warmup) {
  WISESR_CHECK(device.is_cuda(), "a CUDA graph needs a CUDA device, not ", device.str());
  c10::cuda::CUDAGuard guard(device);
  const c10::cuda::CUDAStream main = c10::cuda::getCurrentCUDAStream(device.index());
  // Capture on the caller's stream when it can be captured (a non-default one, e.g. the trainer's
  // TrainingStream: the gradient accumulators are bound to it), else on a side stream.
  const bool on_main = main != c10::cuda::getDefaultCUDAStream(device.index());
  const c10::cuda::CUDAStream side =
      on_main ? main : c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index());
  at::cuda::CUDAEvent queued;
  queued.record(main);
  queued.block(side);  // the side stream starts after everything already queued
  {
    c10::cuda::CUDAStreamGuard on_side(side);
    for (int i = 0; i < warmup; ++i) step();
    side.synchronize();
    // The graph gets a private memory pool; blocks the eager steps left cached would sit unused
    // beside it for the rest of the run, so hand them back first.
    c10::cuda::CUDACachingAllocator::emptyCache();
    // Autocast's cache of bf16 weight copies would be filled during capture and then freed; inside a
    // graph the casts must run on every replay instead.
    const bool cache = at::autocast::is_autocast_cache_enabled();
    at::autocast::set_autocast_cache_enabled(false);
    auto impl = std::make_unique<Impl>();
    try {
      // Thread-local mode: the loader's threads keep running during the capture, and their
      // synchronising CUDA calls (pinned-memory frees, nvJPEG's stream syncs) would otherwise be
      // refused, or end the capture, under the default global mode.
      impl->graph.capture_begin(/*pool=*/{0, 0}, cudaStreamCaptureModeThreadLocal);
      step();
      impl->graph.capture_end();
    } catch (const std::exception& e) {
      at::autocast::set_autocast_cache_enabled(cache);
      abandon_capture(side.stream());
      // A graph whose capture failed is deliberately not destroyed: its destructor would release a
      // private memory pool that the allocator may still route to. PyTorch's capture bookkeeping
      // (allocator pool routing, the RNG's capture state) is not unwound either, so the process
      // should not go on training on this device: callers treat this as fatal.
      (void)impl.release();
      throw GraphCaptureError(
          detail::concat("CUDA-graph capture of the training step failed: ", first_line(e.what())), __FILE__,
          __LINE__);
    }
    at::autocast::set_autocast_cache_enabled(cache);
    impl_ = std::move(impl);
  }
  at::cuda::CUDAEvent captured;
  captured.record(side);
  captured.block(main);
}

void StepGraph::replay() { impl_->graph.replay(); }

#else  // LibTorch without CUDA

struct StepGraph::Impl {};

StepGraph::StepGraph(const torch::Device&, const std::function<void()>&, int) {
  throw GraphCaptureError("this build's LibTorch has no CUDA graphs", __FILE__, __LINE__);
}

void StepGraph::replay() {}

#endif

StepGraph::~StepGraph() = default;

}  // namespace wisesr::train
