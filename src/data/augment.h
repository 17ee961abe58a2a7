#pragma once
// Training-time augmentation and input normalisation, as one batched transform that runs on the
// device holding the batch (the GPU in training, the CPU in CI and CPU runs) with the same torch ops.
//
// Every geometric step (flips, the paper's Keras affine, random-resized-crop, resizing to the model's
// input size) is folded into one 2x3 matrix per sample that maps an output pixel centre to an input
// pixel position; one bilinear grid_sample then produces the batch. The per-sample parameters are a
// pure function of (seed, epoch, record index), never of thread, batch position or rank, so a record
// looks the same however the run is laid out, and a resumed run draws what the uninterrupted one did.
//
// Recipes (--data.augment):
//   none     : no randomness (also the evaluation path: resize only, antialiased).
//   flip     : random horizontal/vertical flips.
//   keras    : the paper's ImageDataGenerator(rotation_range=360, width/height_shift_range=0.1,
//              zoom_range=0.2, channel_shift_range=50, brightness_range=[0, 1.2], horizontal_flip,
//              vertical_flip, fill_mode='nearest'); docs/data-pipeline.md says where we match Keras
//              exactly and where we differ.
//   imagenet : random-resized-crop (scale 0.08-1, ratio 3/4-4/3) + horizontal flip.
// Normalisation (--data.normalize): caffe (RGB->BGR, minus the ImageNet BGR means; Keras
// preprocess_input mode 'caffe', the paper's) or imagenet ((x/255 - mean) / std, RGB; torchvision's).
// The options (AugmentOptions, --data.*) are declared in data/data_options.h.
//
// Usage:
//   BatchTransform t(augment_options, /*train=*/true, /*out_size=*/224);
//   SampleTransform s = t.sample(seed, epoch, record, in_h, in_w);   // in a decode thread, per record
//   BatchTransform::store(s, params, i);                            // row i of the batch's params
//   torch::Tensor images = t.apply(pixels, params);                 // on the pixels' device

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <string>

#include "data/data_options.h"

namespace wisesr::data {

/// One sample's transform: a 2x3 affine from output to input pixel coordinates (pixel centres at
/// integers), then a channel shift and a brightness factor (negative = off).
struct SampleTransform {
  std::array<double, 6> affine{1, 0, 0, 0, 1, 0};
  double channel_shift = 0;
  double brightness = -1;
};
inline constexpr int64_t kTransformParams = 8;  // the fields above, flattened (a row of params())

class BatchTransform {
 public:
  /// train = false is the evaluation path: no randomness, only resizing and normalisation.
  BatchTransform(AugmentOptions options, bool train, int out_size);

  const AugmentOptions& options() const { return opt_; }
  int out_size() const { return out_size_; }
  bool train() const { return train_; }

  /// The transform of `record` (an in_h x in_w image) in `epoch`.
  SampleTransform sample(uint64_t seed, uint64_t epoch, uint64_t record, int in_h, int in_w) const;
  /// Fill row i of params (N, kTransformParams, float32, CPU) with a sample's transform.
  static void store(const SampleTransform& t, torch::Tensor& params, int64_t i);

  /// (N,H,W,3) uint8 RGB + (N, kTransformParams) -> (N,3,S,S) float32, normalised, on pixels' device.
  torch::Tensor apply(const torch::Tensor& pixels, const torch::Tensor& params) const;

  /// The CPU implementation of apply() for one sample, fused into two passes over the image and run by
  /// the loader's decode threads right after decoding (cache-warm): `rgb` is an in_h x in_w RGB image
  /// with `row_bytes` between rows, `t` its transform, `out` receives (3,S,S) float32. Same math as
  /// apply() in float32; results agree to rounding (tests/unit/augment_test.cpp states the bound).
  /// Resizing without augmentation (evaluation at another size) is antialiased and only in apply():
  /// see fused_cpu().
  void apply_cpu(const uint8_t* rgb, int in_h, int in_w, size_t row_bytes, const SampleTransform& t,
                 float* out) const;
  /// Whether apply_cpu() handles in_h x in_w inputs.
  bool fused_cpu(int in_h, int in_w) const;

 private:
  AugmentOptions opt_;
  bool train_;
  int out_size_;
};

/// Seeded position of the square crop taken from short-side records (axis 0 = y, 1 = x), derived
/// from (seed, epoch, record) like every other random choice.
uint64_t crop_offset(uint64_t seed, uint64_t epoch, uint64_t record, int axis);

/// Keras "caffe" mode means, in BGR order (applied after RGB -> BGR).
inline constexpr double kCaffeMeanBgr[3] = {103.939, 116.779, 123.68};
/// torchvision's ImageNet statistics (RGB, on the 0-1 scale).
inline constexpr double kImagenetMeanRgb[3] = {0.485, 0.456, 0.406};
inline constexpr double kImagenetStdRgb[3] = {0.229, 0.224, 0.225};

}  // namespace wisesr::data
