// wisesr <subcommand>: parse -> validate -> run; errors are caught here, printed once as one line,
// and end the whole MPI job (MPI_Abort) so no peer waits forever in a collective.

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "comm/mpi_runtime.h"
#include "commands.h"
#include "config/cli.h"
#include "core/error.h"
#include "core/log.h"
#include "core/stop_signal.h"
#include "core/strings.h"
#include "models/summary.h"
#include "tools/comm_bench.h"
#include "tools/data_bench.h"
#include "tools/train_bench.h"
#include "train/checkpoint.h"
#include "train/evaluator.h"
#include "train/trainer.h"
#include "wisesr/build_config.h"

namespace {

constexpr const char* kUsage =
    "Usage: wisesr <command> [options]    (wisesr <command> --help for its options)\n"
    "\n"
    "Train image classifiers with the Wise-SrNet head (Rahimzadeh et al., 2021) on one or many GPUs.\n"
    "\n"
    "Commands:\n"
    "  synth   write a synthetic image-folder dataset (label = spatial layout)\n"
    "  prep    convert image folders or lists into train/val HDF5 shards + index.json\n"
    "  verify  check a prepared dataset: manifest, checksums, every record decoded\n"
    "  train   train a model on prepared shards (mpirun -np N wisesr train ...)\n"
    "  eval    top-1/top-5 of a checkpoint on a split of prepared shards\n"
    "  params  parameter counts, feature map and FLOPs of a model/head at an image size\n"
    "  export  write a checkpoint's weights as a state_dict for Python (torch.load)\n"
    "  bench   benchmarks: 'bench train' (training img/s, synthetic or real data), 'bench data' (input pipeline), "
    "'bench comm' (all-reduce bandwidth)\n"
    "\n"
    "Options:\n"
    "  -h, --help     show this help\n"
    "  --version      print the version\n";

constexpr const char* kBenchUsage =
    "Usage: wisesr bench <train|data|comm> [options]    (wisesr bench <name> --help for its options)\n"
    "\n"
    "  train   training throughput on a synthetic batch or shards (--data): img/s, step-time breakdown, memory\n"
    "  data    input pipeline on prepared shards: read + decode (+ augmentation), img/s and img/s/core\n"
    "  comm    all-reduce time, algorithm and bus bandwidth across all ranks (mpirun -np N ...)\n";

int fail(const std::string& command, const std::string& message) {
  const int rank = wisesr::log::rank();
  int world = 1;
  if (wisesr::comm::MpiRuntime::initialized()) MPI_Comm_size(MPI_COMM_WORLD, &world);
  if (world > 1) {
    std::fprintf(stderr, "[rank %d] wisesr %s: error: %s\n", rank, command.c_str(),
                 wisesr::first_line(message).c_str());
    std::fflush(stderr);
    wisesr::comm::MpiRuntime::abort(1);
  }
  std::fprintf(stderr, "wisesr%s%s: error: %s\n", command.empty() ? "" : " ", command.c_str(),
               wisesr::first_line(message).c_str());
  return 1;
}

// The exit status of a preempted rank. Open MPI's mpirun ends a job as soon as one rank exits non-zero: it
// sends the ranks still alive SIGCONT, waits odls_base_sigkill_timeout seconds, sends SIGTERM, waits as
// long again and SIGKILLs them, and then exits with the status it saw first. For a preempted job (every
// rank done) that wait is pure delay, so only rank 0 returns the preempt status, and it leaves last (main
// waits a second after MPI_Finalize): by then the other ranks are gone and mpirun exits with rank 0's status
// at once. Under srun the job's status is the highest of its tasks': rank 0's too.
int preempt_exit_status(int preempt_exit_code, const wisesr::comm::ProcessGroupInfo& info) {
  return info.rank == 0 || info.world_size == 1 ? preempt_exit_code : 0;
}

// Parse and validate; false when --help was printed instead.
template <typename Cfg, typename Parse>
bool parse_or_help(Parse parse, const std::vector<std::string>& args, Cfg& cfg) {
  auto parsed = parse(args, cfg);
  if (parsed.help) {
    std::cout << parsed.help_text;
    return false;
  }
  cfg.validate();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace wisesr;
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 1;
  }
  std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "-h" || command == "--help" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (command == "--version") {
    std::printf("wisesr %s (LibTorch %s)\n", WISESR_VERSION, TORCH_VERSION);
    return 0;
  }
  try {
    if (command == "synth") {
      config::SynthConfig cfg;
      if (parse_or_help(config::parse_synth_args, args, cfg)) prep::run_synth(cfg);
    } else if (command == "prep") {
      config::PrepConfig cfg;
      if (parse_or_help(config::parse_prep_args, args, cfg)) prep::run_prep(cfg);
    } else if (command == "verify") {
      config::VerifyConfig cfg;
      if (!parse_or_help(config::parse_verify_args, args, cfg)) return 0;
      if (prep::run_verify(cfg) != 0) return 1;
    } else if (command == "train") {
      // First, before anything slow: a stop signal from now on is recorded, not fatal (core/stop_signal.h).
      StopSignalScope::Options so;
      so.watch_launcher = StopSignalScope::launched_by_launcher();
      StopSignalScope signals(so);
      config::Config cfg;
      if (!parse_or_help(config::parse_train_args, args, cfg)) return 0;
      int code = 0;
      {
        comm::MpiRuntime mpi(&argc, &argv);
        log::set_rank(mpi.info().rank, mpi.info().world_size);
        const auto result = train::run_train(cfg, mpi.info());
        if (result.preempted) code = preempt_exit_status(cfg.train.preempt_exit_code, mpi.info());
      }  // MPI_Finalize: every rank is past training and the checkpoint
      if (code != 0) std::this_thread::sleep_for(std::chrono::seconds(1));  // see preempt_exit_status
      return code;
    } else if (command == "eval") {
      config::EvalConfig cfg;
      if (!parse_or_help(config::parse_eval_args, args, cfg)) return 0;
      comm::MpiRuntime mpi(&argc, &argv);
      log::set_rank(mpi.info().rank, mpi.info().world_size);
      train::run_eval(cfg, mpi.info());
    } else if (command == "params") {
      config::ParamsConfig cfg;
      if (!parse_or_help(config::parse_params_args, args, cfg)) return 0;
      config::ModelConfig mc;
      mc.backbone = cfg.model;
      mc.head = cfg.head;
      mc.pool = cfg.pool;
      models::check_model_config(mc);
      std::cout << models::format_summary(models::summarize(mc, cfg.classes, cfg.image_size));
    } else if (command == "bench") {
      const std::string sub = args.empty() ? "" : args.front();
      if (sub.empty() || sub == "-h" || sub == "--help" || sub == "help") {
        std::fputs(kBenchUsage, sub.empty() ? stderr : stdout);
        return sub.empty() ? 1 : 0;
      }
      if (sub != "train" && sub != "data" && sub != "comm")
        return fail(command, "unknown benchmark '" + sub +
                                 "' (benchmarks: train, data, comm; see 'wisesr bench --help')");
      command += " " + sub;  // errors name "bench train" / "bench comm"
      args.erase(args.begin());
      if (sub == "train") {
        config::BenchTrainConfig cfg;
        if (!parse_or_help(config::parse_bench_train_args, args, cfg)) return 0;
        comm::MpiRuntime mpi(&argc, &argv);
        log::set_rank(mpi.info().rank, mpi.info().world_size);
        tools::run_train_bench(cfg, mpi.info());
      } else if (sub == "data") {
        config::BenchDataConfig cfg;
        if (!parse_or_help(config::parse_bench_data_args, args, cfg)) return 0;
        tools::run_data_bench(cfg);
      } else {
        config::BenchCommConfig cfg;
        if (!parse_or_help(config::parse_bench_comm_args, args, cfg)) return 0;
        comm::MpiRuntime mpi(&argc, &argv);
        log::set_rank(mpi.info().rank, mpi.info().world_size);
        tools::run_comm_bench(cfg, mpi.info());
      }
    } else if (command == "export") {
      config::ExportConfig cfg;
      if (!parse_or_help(config::parse_export_args, args, cfg)) return 0;
      train::export_checkpoint(cfg.checkpoint, cfg.out);
    } else {
      return fail(
          "",
          "unknown command '" + command +
              "' (commands: synth, prep, verify, train, eval, params, export, bench; see 'wisesr --help')");
    }
  } catch (const Error& e) {
    return fail(command, e.what());
  } catch (const c10::Error& e) {
    return fail(command, e.what_without_backtrace());
  } catch (const std::exception& e) {
    return fail(command, e.what());
  }
  return 0;
}
