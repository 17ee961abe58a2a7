#pragma once
// `wisesr train`: the training loop. run_train() reads as a list of verbs (TrainingRun, train_loop.cpp):
//
//   TrainingRun run(cfg, info);    // claim the run directory, open the shards, build the Trainer, verify
//   run.resume_or_start();         // newest valid checkpoint (or a fresh start), replicas made identical
//   while (run.next_epoch()) {
//     run.train_epoch();           // steps until the epoch ends, max_steps, or a stop signal
//     run.evaluate();              // validation (all ranks), then the epoch reported
//     run.checkpoint();            // rank 0 writes it (and best.pt)
//   }
//   return run.finish();          // summary.json, the status file, the closing line
//
// Per optimizer step, on every rank: the step itself (train/train_step.h: accum_steps micro-batches of
// forward/backward with the bucketed all-reduces, SGD/LARS at the schedule's rate, the Wise-SrNet kernel
// clamp after every update; eager or replayed from a CUDA graph) -> stop-signal agreement -> per logging
// window, metrics reduced across ranks and handed to the reporters (train/run_reporter.h). Every rank
// runs the same number of steps (data::train_indices), so the collectives line up.
//
// Rank 0 writes the run directory: config.ini, metrics.jsonl, epochs.csv, checkpoints/ (Note
// [Checkpoint files] in train/checkpoint.h) and summary.json; it takes the directory's lock first, before
// anything slow (Note [Run lock protocol] in core/run_lock.h).
//
// Failures: SIGTERM/SIGUSR1 on any rank -> all ranks agree at the next step boundary (or before the
// first step), rank 0 writes a checkpoint, run_train returns with preempted set (main exits with
// --train.preempt_exit_code). A rank without progress for --train.timeout_s (a dead or hung peer, an
// NCCL error) ends the process (core/watchdog.h); an exception on any rank reaches main, which aborts the
// MPI job.

#include <filesystem>

#include "comm/mpi_runtime.h"
#include "config/config.h"
#include "train/metrics.h"

namespace wisesr::train {

struct TrainResult {
  std::filesystem::path run_dir;
  std::filesystem::path checkpoint;  // rank 0: the last one written, else the one resumed from
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
