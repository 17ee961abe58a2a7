#pragma once
// Pixel preprocessing shared by training and evaluation.

#include <torch/torch.h>

#include <cstdint>

namespace wisesr::data {

/// Keras "caffe" mode means, in BGR order (applied after RGB -> BGR).
inline constexpr double kCaffeMeanBgr[3] = {103.939, 116.779, 123.68};

/// (N,H,W,3) uint8 RGB -> (N,3,H,W) float32: RGB -> BGR, minus kCaffeMeanBgr (Keras
/// preprocess_input(mode="caffe"), which the paper uses).
torch::Tensor caffe_preprocess(const torch::Tensor& nhwc_rgb_u8);

/// Per-sample random flip decision derived from (seed, epoch, global record index, which flip),
/// independent of thread count and world size.
bool flip_decision(uint64_t seed, uint64_t epoch, uint64_t record, int which);

/// Per-sample random crop offset source (axis 0 = y, 1 = x), derived like flip_decision.
uint64_t crop_offset(uint64_t seed, uint64_t epoch, uint64_t record, int axis);

}  // namespace wisesr::data
