#pragma once
// What `wisesr params` reports: parameter counts (ours and Keras-comparable), the head's share and its
// delta over GAP, the feature map, and a FLOPs estimate from one traced forward pass.

#include <cstdint>
#include <string>

#include "models/model_options.h"

namespace wisesr::models {

struct ModelSummary {
  std::string backbone, head;
  int64_t classes = 0, image_size = 0;
  int64_t channels = 0, map_size = 0;  // backbone output: channels x map x map
  int64_t pool = 0, kernel = 0;        // depthwise-family heads: pool size and kernel side
  int64_t total = 0, trainable = 0;    // parameters (torch counting: no BatchNorm statistics)
  int64_t backbone_params = 0, head_params = 0;
  int64_t head_delta_vs_gap = 0;  // head_params - (params of the gap head for the same model)
  int64_t keras_comparable = 0;   // + BatchNorm moving mean/variance + Keras's conv biases
  double gflops = 0;              // 2 x multiply-adds of convolutions and dense layers, per image
};

/// Counts (and, when `flops`, one traced forward pass at image_size for gflops; without it gflops is 0).
ModelSummary summarize(const ModelOptions& cfg, int64_t classes, int64_t image_size, bool flops = true);
/// Human-readable multi-line report.
std::string format_summary(const ModelSummary& s);

}  // namespace wisesr::models
