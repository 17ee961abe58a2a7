#pragma once
// Evaluation over a split: every rank takes a disjoint contiguous range (data::eval_indices), so every
// record is counted exactly once with no padding; the tally is summed over ranks at the end.

#include <torch/torch.h>

#include <functional>

#include "comm/communicator.h"
#include "config/config.h"
#include "data/shard_set.h"
#include "models/classifier.h"
#include "train/metrics.h"

namespace wisesr::train {

struct EvalOptions {
  int batch_size = 64;
  int image_size = 0;
  int workers = 0;
  int prefetch = 2;
  std::string normalize = "caffe";  // as in training (config data.normalize)
  std::string decode = "auto";      // auto | cpu | nvjpeg (config data.decode)
  std::string decode_option = "--data.decode";  // its name in messages
  int64_t max_bad_records = 0;      // corrupt records skipped (not counted) before evaluation fails
  std::function<void()> on_batch;   // called after every batch (the trainer's watchdog heartbeat)
};

/// Collective: returns the tally reduced over all ranks (identical on every rank).
Tally evaluate(models::Classifier& model, const data::ShardSet& set, comm::Communicator& comm,
               const torch::Device& device, const EvalOptions& options);

/// `wisesr eval`: load a checkpoint, evaluate a split, print (rank 0) and optionally write JSON.
void run_eval(const config::EvalConfig& cfg, const comm::ProcessGroupInfo& info);

}  // namespace wisesr::train
