#pragma once
// The training loop. Per step, on every rank: forward -> mean cross-entropy over the local batch ->
// backward -> GradSync (average over ranks) -> SGD update -> model constraints (the Wise-SrNet
// non-negative kernel clamp). All ranks run the same number of steps (data::train_indices), so the
// collectives line up. Rank 0 writes the run directory: config.ini, metrics.jsonl, checkpoints/,
// summary.json.

#include <torch/torch.h>

#include <filesystem>
#include <string>

#include "comm/communicator.h"
#include "config/config.h"
#include "train/metrics.h"

namespace wisesr::train {

struct TrainResult {
  std::filesystem::path run_dir;
  std::filesystem::path checkpoint;  // the last one written
  Tally val;                         // last validation tally (count 0 if none)
  Tally train;                       // last epoch's training tally
  int64_t steps = 0;
  int64_t params = 0;
  double seconds = 0;
};

/// Train as configured (cfg must be validated). Collective over MPI_COMM_WORLD.
TrainResult run_train(const config::Config& cfg, const comm::ProcessGroupInfo& info);

}  // namespace wisesr::train
