#pragma once
// Batched JPEG decoding on a CUDA GPU with nvJPEG (--data.decode nvjpeg). The loader's threads still
// read and CRC-check the records; the prefetch thread then hands the whole batch's JPEG bytes to one
// nvjpegDecodeBatched call, which writes interleaved RGB straight into the batch's device tensor.
//
// Backend: the GPU's hardware JPEG engines where it has them (A100, H100, H200: NVJPG), otherwise
// nvJPEG's GPU-assisted hybrid decoder. Images the backend does not take (progressive JPEGs on the
// hardware engine, 4:1:0/4:1:1 subsampling, grayscale) are decoded with libjpeg-turbo on the CPU and
// copied in, so every record the CPU path reads, this path reads too. A record that cannot be decoded
// at all gets an error message and a zero image, exactly like the CPU path (the loader counts it).
//
// The header has no CUDA or nvJPEG types: it compiles in every build; without nvJPEG (or without a
// GPU) the constructor throws and plan_decode() never picks it.
//
// Usage: auto dec = GpuJpegDecoder::create_checked(0);  pixels = dec->decode(items, h, w, errors);
// (normally through data::plan_decode and a Loader with Delivery::kDevicePixels, data/device_feed.h)

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/shard_format.h"

namespace wisesr::data {

/// Whether this build has nvJPEG compiled in (WISESR_HAVE_NVJPEG).
bool nvjpeg_compiled();

class GpuJpegDecoder {
 public:
  /// One record of a batch: its JPEG bytes (not owned; null = a record already known bad, left as
  /// zeros), the stored image's shape, and the top-left corner of the h x w window the batch takes
  /// from it (0, 0 when the record is exactly h x w).
  struct Item {
    const uint8_t* data = nullptr;
    size_t size = 0;
    RecordShape shape;
    int64_t y0 = 0, x0 = 0;
  };

  /// A decoder on CUDA device `device`. Throws wisesr::Error when nvJPEG is not compiled in, there is
  /// no such GPU, or no backend initialises.
  explicit GpuJpegDecoder(int device);
  ~GpuJpegDecoder();
  GpuJpegDecoder(const GpuJpegDecoder&) = delete;
  GpuJpegDecoder& operator=(const GpuJpegDecoder&) = delete;

  /// A new decoder on `device` that has passed self_check(). Its owner passes it to every loader that
  /// decodes with it (data::DecodePlan: the trainer's and its evaluation's loaders share one).
  static std::shared_ptr<GpuJpegDecoder> create_checked(int device);

  /// "hardware" (with the engine count) or "gpu-hybrid".
  const std::string& backend() const;
  int device() const;

  /// Decode every item into its slot of a new (N, h, w, 3) uint8 RGB tensor on the device and wait
  /// for it (the pixels are there when this returns, so any stream may use them). errors[i] is set to
  /// why item i could not be decoded (its slot is zeros); it is left alone for the others. Items
  /// with null data are zeros too. Thread-safe (calls are serialised).
  torch::Tensor decode(const std::vector<Item>& items, int64_t h, int64_t w,
                       std::vector<std::string>& errors);

  /// Images decoded on the CPU so far because the backend does not take them, and batches that the
  /// backend failed as a whole and that were redone on the CPU.
  int64_t cpu_fallback_images() const;
  int64_t failed_batches() const;

  /// Decode a small libjpeg-turbo-encoded test image on both paths and compare: throws wisesr::Error
  /// naming the difference when the GPU result is not within a few levels of libjpeg-turbo's (wrong
  /// channel order, pitch or colour conversion; a broken driver or library).
  void self_check();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wisesr::data
