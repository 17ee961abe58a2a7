#include "data/preprocess.h"

#include "data/sampler.h"

namespace wisesr::data {

torch::Tensor caffe_preprocess(const torch::Tensor& nhwc) {
  auto x = nhwc.permute({0, 3, 1, 2}).flip({1}).to(torch::kFloat);  // NCHW, BGR
  auto mean =
      torch::tensor({kCaffeMeanBgr[0], kCaffeMeanBgr[1], kCaffeMeanBgr[2]}, torch::kFloat).view({1, 3, 1, 1});
  return (x - mean).contiguous();
}

bool flip_decision(uint64_t seed, uint64_t epoch, uint64_t record, int which) {
  return (mix64(mix64(seed ^ 0xF11Fu) ^ mix64(epoch * 2 + static_cast<uint64_t>(which)) ^ mix64(record)) >>
          7) &
         1u;
}

uint64_t crop_offset(uint64_t seed, uint64_t epoch, uint64_t record, int axis) {
  return mix64(mix64(seed ^ 0xC409u) ^ mix64(epoch * 2 + static_cast<uint64_t>(axis)) ^ mix64(record + 0x51));
}

}  // namespace wisesr::data
