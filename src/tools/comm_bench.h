#pragma once
// `wisesr bench comm`: in-place all-reduce (sum) timing across every rank of the job, reported the way
// nccl-tests reports it, for cluster bring-up (is NCCL/MPI reaching the bandwidth the fabric should?).
//
// Per message size: `warmup` untimed all-reduces, then `iters` timed ones. Each timed iteration refills
// the buffer with ones, synchronises the device, passes an MPI barrier (so ranks start together), then
// times the all-reduce on the host up to its completion (a device sync for NCCL); an iteration takes as
// long as its slowest rank, and the median over iterations is reported. Per-iteration syncs add a few
// microseconds, which dominates the smallest messages (nccl-tests averages a back-to-back loop instead).
//   algbw = bytes / time;  busbw = algbw x 2(n-1)/n   (nccl-tests' all-reduce bus bandwidth: what each
//   link carries in a ring, comparable with the hardware's peak whatever n)
// After the last iteration every element must equal the number of ranks; mismatches are counted (#wrong).

#include <cstdint>
#include <string>
#include <vector>

#include "comm/mpi_runtime.h"
#include "config/config.h"

namespace wisesr::tools {

struct CommBenchRow {
  int64_t bytes = 0;  // count x element size
  int64_t count = 0;  // elements
  double time_us = 0;
  double algbw_gbps = 0;  // GB/s, 1e9 bytes
  double busbw_gbps = 0;
  int64_t wrong = 0;  // elements not equal to the rank count after the last all-reduce (summed over ranks)
};

struct CommBenchResult {
  std::string backend;
  std::string device;
  int ranks = 1;
  std::vector<CommBenchRow> rows;
};

/// nccl-tests' all-reduce bus-bandwidth factor 2(n-1)/n (0 for one rank).
double allreduce_bus_factor(int ranks);

/// Runs the benchmark (cfg validated; collective over MPI_COMM_WORLD). Rank 0 prints the table and
/// writes cfg.json when set. The result is identical on every rank.
CommBenchResult run_comm_bench(const config::BenchCommConfig& cfg, const comm::ProcessGroupInfo& info);

/// The nccl-tests-like table.
std::string format_comm_bench(const config::BenchCommConfig& cfg, const CommBenchResult& r);

}  // namespace wisesr::tools
