#pragma once
// `wisesr bench train`: training throughput of one model with the trainer's own parts (train::Trainer)
// and step (train::TrainStep), on a synthetic batch or (--data.dir) on batches from prepared shards
// through the trainer's input pipeline.
//
// What one timed step is: the trainer's (train/train_step.h), minus the data loader's epochs, the
// logging and the stop-signal agreement: autocast forward -> per-sample cross-entropy in fp32 (label
// smoothing as --optim.label_smoothing) and the metric sums -> backward (loss-scaled for fp16), whose
// gradient hooks launch GradSync's bucketed all-reduces -> GradSync::synchronize -> fp16 unscale ->
// clipping -> SGD/LARS (--optim.*) -> Wise-SrNet clamp, after zeroing the gradients in place. The batch is
// random, made once on the device; with --data.dir each step takes the loader's next batch (the time
// spent waiting for it is reported as the data-wait fraction). With --train.cuda_graph (auto by default)
// the step is static and, after the warm-up, replayed from a CUDA graph, exactly as in training.
//
// Timing: `warmup` untimed steps, then `steps` steps each ended by a device synchronisation and timed on
// the host; img/s = batch x ranks / median step time (per step, the slowest rank's time). A separate
// breakdown pass of `breakdown_steps` steps runs the same step eagerly with its phase hook (Note [Phase
// timing] in train/train_step.h), synchronising after each phase: forward+loss / backward+sync /
// optimizer+clamp; its extra syncs make it slightly slower, which is why it does not feed img/s. Peak
// memory is the CUDA caching allocator's peak allocated bytes since start-up (model, optimizer state,
// batch, activations), as torch.cuda.max_memory_allocated() reports it.
//
// --no-sync builds no GradSync at all; otherwise GradSync runs over all ranks of the job, as in training,
// and issues its all-reduces even with one rank (training skips them there), so `--no-sync` against the
// default measures what bucketing plus a one-rank all-reduce cost (as DDP pays).
//
// Usage: TrainBenchResult r = run_train_bench(cfg, info);   // collective; rank 0 prints one line

#include <cstdint>
#include <string>

#include "comm/mpi_runtime.h"
#include "config/config.h"

namespace wisesr::tools {

struct TrainBenchResult {
  std::string device;
  std::string precision;
  bool channels_last = false;
  std::string backend = "none";  // the gradient-sync communicator, "none" without GradSync
  int ranks = 1;
  int64_t params = 0;
  size_t grad_buckets = 0;
  bool cuda_graph = false;          // the timed steps replayed a captured graph
  std::string input = "synthetic";  // synthetic | shards (cfg.data)
  std::string decode;               // with shards: cpu | nvjpeg (...) | none
  double data_wait_frac = 0;        // with shards: time waiting for batches / time of the timed steps
  std::string graph_note;           // why not, when cfg.cuda_graph was not "off"
  double step_ms = 0, step_ms_min = 0, step_ms_max = 0;         // median, min, max over the timed steps
  double img_per_s = 0;                                         // all ranks together
  double forward_ms = -1, backward_ms = -1, optimizer_ms = -1;  // medians of the breakdown pass; -1: none
  int64_t peak_mem_bytes = 0;  // CUDA allocator peak (0 on CPU), max over ranks
  int64_t max_rss_bytes = 0;   // peak resident set size of the process, max over ranks
};

/// Runs the benchmark (cfg validated; collective over MPI_COMM_WORLD). Rank 0 prints a one-line summary
/// and writes cfg.json when set. The result is identical on every rank.
TrainBenchResult run_train_bench(const config::BenchTrainConfig& cfg, const comm::ProcessGroupInfo& info);

/// The one-line human summary.
std::string format_train_bench(const config::BenchTrainConfig& cfg, const TrainBenchResult& r);

}  // namespace wisesr::tools
