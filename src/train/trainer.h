#pragma once
// The training loop. Per optimizer step, on every rank: the step itself (train/train_step.h: accum_steps
// micro-batches of forward/backward with the bucketed all-reduces, SGD/LARS at the schedule's rate, the
// Wise-SrNet kernel clamp after every update; eager or replayed from a CUDA graph) -> stop-signal
// agreement -> per logging window, metrics reduced across ranks.
//
// Every rank runs the same number of steps (data::train_indices), so the collectives line up. Rank 0
// writes the run directory: config.ini, metrics.jsonl (per logging window and epoch), epochs.csv,
// checkpoints/ (step-<N>.pt with .sha256 sidecars, last.pt, best.pt) and summary.json.
//
// Failures: SIGTERM/SIGUSR1 on any rank -> all ranks agree at the next step boundary, rank 0 writes a
// checkpoint, run_train returns with preempted set (main exits with --train.preempt_exit_code).
// A rank without progress for --train.timeout_s (a dead or hung peer, an NCCL error) ends the process
// (core/watchdog.h); an exception on any rank reaches main, which aborts the MPI job.

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
  int64_t steps = 0;                 // optimizer steps completed in total (including before a resume)
  int64_t params = 0;
  double seconds = 0;
  bool preempted = false;          // stopped by SIGTERM/SIGUSR1 after writing a checkpoint
  bool cuda_graph = false;         // the steps ended up replayed from a captured CUDA graph
  int64_t resumed_from_step = -1;  // -1: fresh start
};

/// Train as configured (cfg must be validated). Collective over MPI_COMM_WORLD.
TrainResult run_train(const config::Config& cfg, const comm::ProcessGroupInfo& info);

}  // namespace wisesr::train
