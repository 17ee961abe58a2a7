#include "tools/comm_bench.h"

#include <torch/torch.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "comm/communicator.h"
#include "comm/mpi_communicator.h"
#include "core/clock.h"
#include "core/fs.h"
#include "tools/stats.h"
#include "train/runtime.h"

namespace wisesr::tools {
namespace {

std::string human_bytes(int64_t bytes) {
  const char* units[] = {"B", "K", "M", "G"};
  int u = 0;
  while (u < 3 && bytes % 1024 == 0 && bytes >= 1024) {
    bytes /= 1024;
    ++u;
  }
  return std::to_string(bytes) + units[u];
}

}  // namespace

double allreduce_bus_factor(int ranks) { return ranks > 0 ? 2.0 * (ranks - 1) / ranks : 0.0; }

namespace {

void write_json(const config::BenchCommConfig& cfg, const CommBenchResult& r) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : r.rows)
    rows.push_back({{"bytes", row.bytes},
                    {"count", row.count},
                    {"time_us", row.time_us},
                    {"algbw_gbps", row.algbw_gbps},
                    {"busbw_gbps", row.busbw_gbps},
                    {"wrong", row.wrong}});
  const nlohmann::json j = {{"op", "all_reduce_sum_in_place"},
                            {"backend", r.backend},
                            {"device", r.device},
                            {"ranks", r.ranks},
                            {"dtype", to_string(cfg.dtype)},
                            {"iters", cfg.iters},
                            {"warmup", cfg.warmup},
                            {"bus_factor", allreduce_bus_factor(r.ranks)},
                            {"rows", rows}};
  fs::write_file_atomic(cfg.json, j.dump(2) + "\n");
}

}  // namespace

CommBenchResult run_comm_bench(const config::BenchCommConfig& cfg, const comm::ProcessGroupInfo& info) {
  const comm::Backend backend = cfg.comm.backend;
  const bool nccl =
      backend == comm::Backend::kNccl ||
      (backend == comm::Backend::kAuto && torch::cuda::is_available() && comm::nccl_available());
  WISESR_CHECK(!nccl || comm::nccl_available(), "--train.backend nccl: this build has no NCCL");
  WISESR_CHECK(!nccl || torch::cuda::is_available(),
               "--train.backend nccl needs a CUDA GPU, and none is available");
  // MPI reduces host memory: its buffers stay on the CPU even on GPU machines.
  const torch::Device device =
      nccl ? train::select_device(train::DeviceKind::kCuda, info) : torch::Device(torch::kCPU);
  auto comm = comm::make_communicator(nccl ? comm::Backend::kNccl : comm::Backend::kMpi, info, device);
  comm::MpiCommunicator control;  // barriers and the reduction of the timings, on the host
  auto device_sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
  };
  const bool bf16 = cfg.dtype == config::CommDtype::kBf16;
  const auto dtype = bf16 ? torch::kBFloat16 : torch::kFloat;
  const int64_t elem = bf16 ? 2 : 4;

  CommBenchResult r;
  r.backend = comm->name();
  r.device = device.str();
  r.ranks = comm->size();
  for (const int64_t requested : config::parse_sizes(cfg.sizes)) {
    CommBenchRow row;
    row.count = std::max<int64_t>(1, requested / elem);
    row.bytes = row.count * elem;
    auto buf = torch::ones({row.count}, torch::TensorOptions().dtype(dtype).device(device));
    std::vector<double> seconds;
    for (int i = 0; i < cfg.warmup + cfg.iters; ++i) {
      buf.fill_(1);
      device_sync();
      control.barrier();
      const auto t0 = Clock::now();
      comm->all_reduce(buf);
      device_sync();
      const double s = seconds_since(t0);
      if (i >= cfg.warmup) seconds.push_back(s);
    }
    auto wrong = (buf.to(torch::kFloat) != static_cast<float>(r.ranks)).sum().to(torch::kDouble).cpu();
    auto times =
        torch::from_blob(seconds.data(), {static_cast<int64_t>(seconds.size())}, torch::kDouble).clone();
    control.all_reduce(times, comm::ReduceOp::kMax);  // an iteration lasts until its slowest rank is done
    control.all_reduce(wrong, comm::ReduceOp::kSum);
    const double t =
        median(std::vector<double>(times.data_ptr<double>(), times.data_ptr<double>() + times.numel()));
    row.time_us = t * 1e6;
    row.algbw_gbps = t > 0 ? static_cast<double>(row.bytes) / t / 1e9 : 0.0;
    row.busbw_gbps = row.algbw_gbps * allreduce_bus_factor(r.ranks);
    row.wrong = static_cast<int64_t>(wrong.item<double>());
    r.rows.push_back(row);
  }

  if (info.rank == 0) {
    std::fputs(format_comm_bench(cfg, r).c_str(), stdout);
    std::fflush(stdout);
    if (!cfg.json.empty()) write_json(cfg, r);
  }
  int64_t wrong_total = 0;
  for (const auto& row : r.rows) wrong_total += row.wrong;
  WISESR_CHECK(wrong_total == 0, "all-reduce gave wrong results (", wrong_total,
               " element(s) not equal to the number of ranks; see #wrong)");
  return r;
}

std::string format_comm_bench(const config::BenchCommConfig& cfg, const CommBenchResult& r) {
  std::ostringstream os;
  char line[256];
  std::snprintf(
      line, sizeof(line),
      "# wisesr bench comm: all-reduce (sum, in place), backend %s on %s, %d rank(s), dtype %s%s\n"
      "# median of %d iteration(s) after %d warm-up; busbw = algbw x 2(n-1)/n = algbw x %.3f\n",
      r.backend.c_str(), r.device.c_str(), r.ranks, to_string(cfg.dtype).c_str(),
      r.backend == "mpi" && cfg.dtype == config::CommDtype::kBf16 ? " (reduced as float by MPI)" : "",
      cfg.iters, cfg.warmup, allreduce_bus_factor(r.ranks));
  os << line;
  std::snprintf(line, sizeof(line), "#%12s %12s %8s %12s %12s %12s %7s\n", "size", "count", "type",
                "time(us)", "algbw(GB/s)", "busbw(GB/s)", "#wrong");
  os << line;
  double busbw_sum = 0;
  for (const auto& row : r.rows) {
    std::snprintf(line, sizeof(line), " %12s %12lld %8s %12.2f %12.3f %12.3f %7lld\n",
                  human_bytes(row.bytes).c_str(), static_cast<long long>(row.count),
                  to_string(cfg.dtype).c_str(), row.time_us, row.algbw_gbps, row.busbw_gbps,
                  static_cast<long long>(row.wrong));
    os << line;
    busbw_sum += row.busbw_gbps;
  }
  std::snprintf(line, sizeof(line), "# Avg bus bandwidth : %.3f GB/s\n",
                r.rows.empty() ? 0.0 : busbw_sum / static_cast<double>(r.rows.size()));
  os << line;
  return os.str();
}

}  // namespace wisesr::tools
