#pragma once
// Evaluation over a split: every rank takes a disjoint contiguous range (data::eval_indices), so every
// record is counted exactly once with no padding; the tally is summed over ranks at the end.
//
// Usage:
//   EvalOptions eo;  eo.batch_size = 64;  eo.decode = plan;   // the DecodePlan of the run
//   (data/device_feed.h) Tally t = evaluate(model, val_set, comm, device, eo);      // collective; identical
//   on every rank. With eo.confusion = &m, also the per-class counts (m[true][predicted]).

#include <torch/torch.h>

#include <functional>

#include "comm/communicator.h"
#include "data/data_options.h"
#include "data/device_feed.h"
#include "data/shard_set.h"
#include "models/classifier.h"
#include "train/metrics.h"

namespace wisesr::train {

struct EvalOptions {
  int batch_size = 64;
  int image_size = 0;  // 0 = the dataset's
  int workers = 0;
  int prefetch = 2;
  data::Normalize normalize = data::Normalize::kCaffe;  // as in training (--data.normalize)
  /// How records are decoded: the caller's plan, so that training and its evaluation share one nvJPEG
  /// decoder (the default decodes on the CPU).
  data::DecodePlan decode;
  int64_t max_bad_records = 0;     // corrupt records skipped (not counted) before evaluation fails
  std::function<void()> on_batch;  // called after every batch (the trainer's watchdog heartbeat)
  /// When set: the confusion matrix, classes x classes int64 on the CPU, [true class][top-1 prediction],
  /// summed over ranks like the tally (so its rows sum to the class's samples, its diagonal to top-1).
  torch::Tensor* confusion = nullptr;
};

/// Collective: returns the tally reduced over all ranks (identical on every rank).
Tally evaluate(models::Classifier& model, const data::ShardSet& set, comm::Communicator& comm,
               const torch::Device& device, const EvalOptions& options);

}  // namespace wisesr::train
