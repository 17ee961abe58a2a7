#include "data/nvjpeg_decoder.h"

#include <turbojpeg.h>

#include <atomic>
#include <cmath>
#include <map>
#include <mutex>

#include "core/error.h"
#include "core/log.h"
#include "data/jpeg_decoder.h"
#include "wisesr/build_config.h"

#if WISESR_HAVE_NVJPEG
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#include <nvjpeg.h>
#endif

namespace wisesr::data {

bool nvjpeg_compiled() { return WISESR_HAVE_NVJPEG; }

#if WISESR_HAVE_NVJPEG
namespace {

const char* status_name(nvjpegStatus_t s) {
  switch (s) {
    case NVJPEG_STATUS_SUCCESS:
      return "success";
    case NVJPEG_STATUS_NOT_INITIALIZED:
      return "not initialized";
    case NVJPEG_STATUS_INVALID_PARAMETER:
      return "invalid parameter";
    case NVJPEG_STATUS_BAD_JPEG:
      return "bad JPEG";
    case NVJPEG_STATUS_JPEG_NOT_SUPPORTED:
      return "JPEG not supported";
    case NVJPEG_STATUS_ALLOCATOR_FAILURE:
      return "allocator failure";
    case NVJPEG_STATUS_EXECUTION_FAILED:
      return "execution failed";
    case NVJPEG_STATUS_ARCH_MISMATCH:
      return "not supported on this GPU";
    case NVJPEG_STATUS_INTERNAL_ERROR:
      return "internal error";
    case NVJPEG_STATUS_IMPLEMENTATION_NOT_SUPPORTED:
      return "implementation not supported";
    case NVJPEG_STATUS_INCOMPLETE_BITSTREAM:
      return "incomplete bitstream";
  }
  return "unknown status";
}

// Note [Decoder streams outlive decoders]
// One stream per device for all decoders, created on first use and never destroyed: the caching
// allocator keeps freed blocks keyed by the stream they were allocated on, and destroying it while
// such blocks exist would leave the allocator holding a dead handle. This cache of CUDA handles is the
// one piece of process-wide state here, and it holds no configuration: decoders themselves are made by
// their owner (data::plan_decode) and passed where they are used.
cudaStream_t decoder_stream(int device) {
  static std::mutex mutex;
  static std::map<int, cudaStream_t> streams;
  std::lock_guard<std::mutex> lock(mutex);
  cudaStream_t& s = streams[device];
  if (s == nullptr) {
    const cudaError_t ce = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    if (ce != cudaSuccess) {
      s = nullptr;
      WISESR_THROW("nvJPEG: cannot create a CUDA stream: ", cudaGetErrorString(ce));
    }
  }
  return s;
}

#define WISESR_NVJPEG_CHECK(call)                                                                        \
  do {                                                                                                   \
    const nvjpegStatus_t wisesr_st_ = (call);                                                            \
    WISESR_CHECK(wisesr_st_ == NVJPEG_STATUS_SUCCESS, "nvJPEG: ", #call, ": ", status_name(wisesr_st_)); \
  } while (false)

}  // namespace

struct GpuJpegDecoder::Impl {
  int device = 0;
  std::string backend;
  std::mutex mutex;
  std::atomic<int64_t> cpu_images{0}, failed_batches{0};
  nvjpegHandle_t handle = nullptr;
  nvjpegJpegState_t state = nullptr;
  nvjpegJpegStream_t header = nullptr;  // host-side header parse for the routing checks
  cudaStream_t raw_stream = nullptr;    // decoder_stream(device): Note [Decoder streams outlive decoders]
  bool hardware = false;
  int initialized_batch = -1;  // nvjpegDecodeBatchedInitialize's batch size; -1 = initialise again
  JpegDecoder cpu;             // libjpeg-turbo for what the backend does not take
  std::vector<uint8_t> host;   // the CPU fallback's decoded image

  ~Impl() {
    // Nothing here may throw; statuses are ignored on the way out.
    if (header) nvjpegJpegStreamDestroy(header);
    if (state) nvjpegJpegStateDestroy(state);
    if (handle) nvjpegDestroy(handle);
  }
  c10::cuda::CUDAStream stream() const {
    return c10::cuda::getStreamFromExternal(raw_stream, static_cast<c10::DeviceIndex>(device));
  }

  // Where each record of a batch is decoded, and where in scratch memory a record larger than the
  // batch's window lands before it is cropped.
  enum class Route { zeros, gpu, cpu };
  struct Routes {
    std::vector<Route> route;
    std::vector<int64_t> scratch_at;  // byte offset of a whole image that is cropped after; -1: none
    int64_t scratch_bytes = 0;
  };
  // decode()'s three passes.
  Routes route_items(const std::vector<Item>& items, int64_t h, int64_t w, std::vector<std::string>& errors);
  void decode_on_gpu(const std::vector<Item>& items, Routes& r, torch::Tensor& out,
                     const c10::cuda::CUDAStream& stream);
  void decode_on_cpu(const std::vector<Item>& items, Routes& r, torch::Tensor& out,
                     std::vector<std::string>& errors);
};

GpuJpegDecoder::GpuJpegDecoder(int device) : impl_(std::make_unique<Impl>()) {
  WISESR_CHECK(
      torch::cuda::is_available() && device >= 0 && device < static_cast<int>(torch::cuda::device_count()),
      "nvJPEG: there is no CUDA device ", device);
  Impl& m = *impl_;
  m.device = device;
  c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device));
  std::string tried;
  for (const auto& [backend, name] :
       {std::pair{NVJPEG_BACKEND_HARDWARE, "hardware"}, std::pair{NVJPEG_BACKEND_GPU_HYBRID, "gpu-hybrid"}}) {
    // Chroma upsampling by interpolation, as libjpeg-turbo's default ("fancy") upsampling does, so the
    // GPU's pixels are close to the CPU path's; nvJPEG versions without the flag reject it: retry.
    nvjpegHandle_t h = nullptr;
    nvjpegStatus_t st =
        nvjpegCreateEx(backend, nullptr, nullptr, NVJPEG_FLAGS_UPSAMPLING_WITH_INTERPOLATION, &h);
    if (st != NVJPEG_STATUS_SUCCESS) st = nvjpegCreateEx(backend, nullptr, nullptr, NVJPEG_FLAGS_DEFAULT, &h);
    if (st == NVJPEG_STATUS_SUCCESS) {
      m.handle = h;
      m.hardware = backend == NVJPEG_BACKEND_HARDWARE;
      m.backend = name;
      break;
    }
    tried += std::string(tried.empty() ? "" : ", ") + name + ": " + status_name(st);
  }
  WISESR_CHECK(m.handle != nullptr, "nvJPEG: no backend initialises on cuda:", device, " (", tried, ")");
  if (m.hardware) {
    unsigned engines = 0, cores = 0;
    if (nvjpegGetHardwareDecoderInfo(m.handle, &engines, &cores) == NVJPEG_STATUS_SUCCESS && engines > 0) {
      m.backend += " (" + std::to_string(engines) + " engines x " + std::to_string(cores) + " cores)";
    }
  }
  WISESR_NVJPEG_CHECK(nvjpegJpegStateCreate(m.handle, &m.state));
  WISESR_NVJPEG_CHECK(nvjpegJpegStreamCreate(m.handle, &m.header));
  m.raw_stream = decoder_stream(device);
}

// Pass 1, on the host: check each header against the record and route it to the GPU or the CPU.
GpuJpegDecoder::Impl::Routes GpuJpegDecoder::Impl::route_items(const std::vector<Item>& items, int64_t h,
                                                               int64_t w, std::vector<std::string>& errors) {
  Impl& m = *this;
  Routes r;
  r.route.assign(items.size(), Route::zeros);
  r.scratch_at.assign(items.size(), -1);
  for (size_t i = 0; i < items.size(); ++i) {
    const Item& it = items[i];
    if (it.data == nullptr) continue;
    WISESR_CHECK(it.y0 >= 0 && it.x0 >= 0 && it.y0 + h <= it.shape.height && it.x0 + w <= it.shape.width,
                 "nvJPEG decode: a ", w, "x", h, " window at (", it.x0, ", ", it.y0, ") does not fit a ",
                 it.shape.width, "x", it.shape.height, " record");
    int components = 0;
    nvjpegChromaSubsampling_t css = NVJPEG_CSS_UNKNOWN;
    int widths[NVJPEG_MAX_COMPONENT] = {}, heights[NVJPEG_MAX_COMPONENT] = {};
    if (nvjpegGetImageInfo(m.handle, it.data, it.size, &components, &css, widths, heights) !=
        NVJPEG_STATUS_SUCCESS) {
      r.route[i] = Route::cpu;  // libjpeg-turbo says what is wrong with it, or decodes it
      continue;
    }
    if (widths[0] != static_cast<int>(it.shape.width) || heights[0] != static_cast<int>(it.shape.height)) {
      errors[i] = "JPEG is " + std::to_string(widths[0]) + "x" + std::to_string(heights[0]) +
                  ", record says " + std::to_string(it.shape.width) + "x" + std::to_string(it.shape.height);
      continue;
    }
    bool gpu = components == 3 && css != NVJPEG_CSS_410 && css != NVJPEG_CSS_411 && css != NVJPEG_CSS_410V &&
               css != NVJPEG_CSS_UNKNOWN &&
               nvjpegJpegStreamParseHeader(m.handle, it.data, it.size, m.header) == NVJPEG_STATUS_SUCCESS;
    if (gpu && m.hardware) {
      int unsupported = 1;  // nvJPEG's convention: 0 = the batched (hardware) decoder takes it
      gpu = nvjpegDecodeBatchedSupported(m.handle, m.header, &unsupported) == NVJPEG_STATUS_SUCCESS &&
            unsupported == 0;
    } else if (gpu) {
      // The hybrid backend decodes sequential (baseline, extended) JPEGs on the GPU; progressive ones
      // would take its single-threaded host path: libjpeg-turbo does those as well.
      nvjpegJpegEncoding_t encoding = NVJPEG_ENCODING_UNKNOWN;
      gpu = nvjpegJpegStreamGetJpegEncoding(m.header, &encoding) == NVJPEG_STATUS_SUCCESS &&
            (encoding == NVJPEG_ENCODING_BASELINE_DCT ||
             encoding == NVJPEG_ENCODING_EXTENDED_SEQUENTIAL_DCT_HUFFMAN);
    }
    r.route[i] = gpu ? Route::gpu : Route::cpu;
    if (gpu && (it.shape.height != h || it.shape.width != w)) {
      r.scratch_at[i] = r.scratch_bytes;
      r.scratch_bytes += static_cast<int64_t>(it.shape.height) * it.shape.width * 3;
    }
  }
  return r;
}

// Pass 2: one batched decode of everything routed to the GPU, straight into the batch (or into scratch
// for records larger than the window, cropped afterwards). A batch nvJPEG fails is routed to the CPU.
void GpuJpegDecoder::Impl::decode_on_gpu(const std::vector<Item>& items, Routes& r, torch::Tensor& out,
                                         const c10::cuda::CUDAStream& stream) {
  Impl& m = *this;
  const int64_t h = out.size(1), w = out.size(2);
  const auto slot_bytes = static_cast<size_t>(h * w * 3);
  torch::Tensor scratch =
      r.scratch_bytes > 0 ? torch::empty({r.scratch_bytes}, out.options()) : torch::Tensor();
  std::vector<const unsigned char*> data;
  std::vector<size_t> lengths, which;
  std::vector<nvjpegImage_t> dst;
  for (size_t i = 0; i < items.size(); ++i) {
    if (r.route[i] != Route::gpu) continue;
    nvjpegImage_t img{};
    if (r.scratch_at[i] >= 0) {
      img.channel[0] = scratch.data_ptr<uint8_t>() + r.scratch_at[i];
      img.pitch[0] = static_cast<size_t>(items[i].shape.width) * 3;
    } else {
      img.channel[0] = out.data_ptr<uint8_t>() + i * slot_bytes;
      img.pitch[0] = static_cast<size_t>(w) * 3;
    }
    data.push_back(items[i].data);
    lengths.push_back(items[i].size);
    dst.push_back(img);
    which.push_back(i);
  }
  if (data.empty()) return;
  const int batch = static_cast<int>(data.size());
  nvjpegStatus_t st = NVJPEG_STATUS_SUCCESS;
  if (m.initialized_batch != batch) {
    st = nvjpegDecodeBatchedInitialize(m.handle, m.state, batch, 1, NVJPEG_OUTPUT_RGBI);
    if (st == NVJPEG_STATUS_SUCCESS) m.initialized_batch = batch;
  }
  if (st == NVJPEG_STATUS_SUCCESS) {
    st = nvjpegDecodeBatched(m.handle, m.state, data.data(), lengths.data(), dst.data(), stream.stream());
  }
  if (st != NVJPEG_STATUS_SUCCESS) {
    // A record that parses but does not decode fails the whole batch: redo it on the CPU, where the
    // culprit gets its own error (and re-initialise, which resets the failed batch).
    m.initialized_batch = -1;
    stream.synchronize();  // nothing the failed call queued may land on the slots redone below
    const int64_t failed = ++m.failed_batches;
    LOG_WARN("nvJPEG failed a batch of " << batch << " images (" << status_name(st)
                                         << "); decoding it on the CPU (" << failed << " batch(es) so far)");
    for (size_t i : which) r.route[i] = Route::cpu;
    return;
  }
  for (size_t i : which) {
    if (r.scratch_at[i] < 0) continue;
    const Item& it = items[i];
    const int64_t hh = it.shape.height, ww = it.shape.width;
    out.select(0, static_cast<int64_t>(i))
        .copy_(scratch.narrow(0, r.scratch_at[i], hh * ww * 3)
                   .view({hh, ww, 3})
                   .narrow(0, it.y0, h)
                   .narrow(1, it.x0, w));
  }
}

// Pass 3: libjpeg-turbo for the rest; its errors are the records' errors (their slots become zeros).
void GpuJpegDecoder::Impl::decode_on_cpu(const std::vector<Item>& items, Routes& r, torch::Tensor& out,
                                         std::vector<std::string>& errors) {
  Impl& m = *this;
  const int64_t h = out.size(1), w = out.size(2);
  for (size_t i = 0; i < items.size(); ++i) {
    if (r.route[i] != Route::cpu) continue;
    const Item& it = items[i];
    try {
      m.host.resize(static_cast<size_t>(it.shape.height) * it.shape.width * 3);
      m.cpu.decode_rgb(it.data, it.size, m.host.data(), it.shape);
      const auto image = torch::from_blob(m.host.data(), {it.shape.height, it.shape.width, 3}, torch::kUInt8);
      // From pageable memory: the copy is complete when copy_ returns, so host can be reused.
      out.select(0, static_cast<int64_t>(i)).copy_(image.narrow(0, it.y0, h).narrow(1, it.x0, w));
      ++m.cpu_images;
    } catch (const Error& e) {
      errors[i] = e.message();
      r.route[i] = Route::zeros;
    }
  }
}

torch::Tensor GpuJpegDecoder::decode(const std::vector<Item>& items, int64_t h, int64_t w,
                                     std::vector<std::string>& errors) {
  WISESR_CHECK(errors.size() == items.size(), "nvJPEG decode: ", errors.size(), " error slots for ",
               items.size(), " items");
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mutex);
  c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(m.device));
  const c10::cuda::CUDAStream stream = m.stream();
  c10::cuda::CUDAStreamGuard on_stream(stream);  // the torch ops below (allocations, crops, zeros) run on it
  const auto u8 = torch::TensorOptions().dtype(torch::kUInt8).device(torch::kCUDA, m.device);
  torch::Tensor out = torch::empty({static_cast<int64_t>(items.size()), h, w, 3}, u8);
  Impl::Routes routes = m.route_items(items, h, w, errors);
  m.decode_on_gpu(items, routes, out, stream);
  m.decode_on_cpu(items, routes, out, errors);
  for (size_t i = 0; i < items.size(); ++i) {
    if (routes.route[i] == Impl::Route::zeros) out.select(0, static_cast<int64_t>(i)).zero_();
  }
  stream.synchronize();
  return out;
}

#else  // no nvJPEG in this build

struct GpuJpegDecoder::Impl {
  int device = 0;
  std::string backend;
  std::atomic<int64_t> cpu_images{0}, failed_batches{0};
};

GpuJpegDecoder::GpuJpegDecoder(int device) : impl_(std::make_unique<Impl>()) {
  impl_->device = device;
  WISESR_THROW(
      "--data.decode nvjpeg: this build has no nvJPEG (configure with CUDA-enabled LibTorch and nvJPEG: "
      "the CUDA toolkit's or the nvidia-nvjpeg wheel, see README)");
}

torch::Tensor GpuJpegDecoder::decode(const std::vector<Item>&, int64_t, int64_t, std::vector<std::string>&) {
  WISESR_THROW("this build has no nvJPEG");
}

#endif

GpuJpegDecoder::~GpuJpegDecoder() = default;

const std::string& GpuJpegDecoder::backend() const { return impl_->backend; }
int GpuJpegDecoder::device() const { return impl_->device; }
int64_t GpuJpegDecoder::cpu_fallback_images() const { return impl_->cpu_images.load(); }
int64_t GpuJpegDecoder::failed_batches() const { return impl_->failed_batches.load(); }

void GpuJpegDecoder::self_check() {
  // A smooth 4:2:0 image with a different pattern per channel: a swapped channel order, a wrong pitch
  // or a broken colour conversion moves the mean error far past the bound; IDCT and chroma
  // upsampling differences between the two decoders stay well inside it.
  constexpr int kW = 72, kH = 56;
  std::vector<uint8_t> rgb(static_cast<size_t>(kW) * kH * 3);
  for (int y = 0; y < kH; ++y) {
    for (int x = 0; x < kW; ++x) {
      uint8_t* p = &rgb[(static_cast<size_t>(y) * kW + x) * 3];
      p[0] = static_cast<uint8_t>(3 * x);
      p[1] = static_cast<uint8_t>(4 * y);
      p[2] = static_cast<uint8_t>(200 - x - y);
    }
  }
  tjhandle enc = tjInitCompress();
  WISESR_CHECK(enc != nullptr, "nvJPEG self-check: cannot create a libjpeg-turbo compressor");
  unsigned char* jpeg = nullptr;
  unsigned long size = 0;
  const int rc =
      tjCompress2(enc, rgb.data(), kW, 0, kH, TJPF_RGB, &jpeg, &size, TJSAMP_420, 95, TJFLAG_ACCURATEDCT);
  tjDestroy(enc);
  std::unique_ptr<unsigned char, void (*)(unsigned char*)> owned(jpeg, [](unsigned char* p) { tjFree(p); });
  WISESR_CHECK(rc == 0, "nvJPEG self-check: cannot encode the test image");

  const RecordShape shape{kH, kW, 3};
  std::vector<uint8_t> reference(rgb.size());
  JpegDecoder().decode_rgb(jpeg, size, reference.data(), shape);
  std::vector<std::string> errors(1);
  const int64_t fallback_before = cpu_fallback_images();
  const torch::Tensor gpu = decode({Item{jpeg, size, shape, 0, 0}}, kH, kW, errors).cpu();
  WISESR_CHECK(errors[0].empty(), "nvJPEG self-check: the test image did not decode: ", errors[0]);
  if (cpu_fallback_images() != fallback_before) {
    LOG_WARN("nvJPEG self-check: the " << backend() << " backend left a baseline 4:2:0 JPEG to the CPU");
  }
  const auto ref = torch::from_blob(reference.data(), {kH, kW, 3}, torch::kUInt8).to(torch::kInt);
  const auto diff = (gpu.to(torch::kInt) - ref).abs();
  const double mean = diff.to(torch::kDouble).mean().item<double>();
  const int max = diff.max().item<int>();
  WISESR_CHECK(mean <= 2.0 && max <= 24, "nvJPEG self-check failed on cuda:", device(), " (", backend(),
               "): mean |difference| to libjpeg-turbo ", mean, ", max ", max, " (bounds 2 and 24)");
}

std::shared_ptr<GpuJpegDecoder> GpuJpegDecoder::create_checked(int device) {
  auto made = std::make_shared<GpuJpegDecoder>(device);
  made->self_check();
  return made;
}

}  // namespace wisesr::data
