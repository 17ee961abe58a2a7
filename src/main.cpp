// wisesr <subcommand>: parse -> validate -> run; errors are caught here, printed once as one line,
// and end the whole MPI job (MPI_Abort) so no peer waits forever in a collective. The subcommands are
// the rows of one table (name, one-line help, what runs it), from which the usage text comes too.

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
#include "prep_options.h"
#include "tools/comm_bench.h"
#include "tools/data_bench.h"
#include "tools/gradcam.h"
#include "tools/plan.h"
#include "tools/predict.h"
#include "tools/report.h"
#include "tools/train_bench.h"
#include "train/commands.h"
#include "train/sweep.h"
#include "train/train_loop.h"
#include "wisesr/build_config.h"

namespace {

using namespace wisesr;
using Args = std::vector<std::string>;

int fail(const std::string& command, const std::string& raw_message) {
  // One line, and no raw bytes of what it quotes (LibTorch's and the standard library's messages too).
  const std::string line = printable(first_line(raw_message));
  const int rank = log::rank();
  int world = 1;
  if (comm::MpiRuntime::initialized()) MPI_Comm_size(MPI_COMM_WORLD, &world);
  if (world > 1) {
    std::fprintf(stderr, "[rank %d] wisesr %s: error: %s\n", rank, printable(command).c_str(), line.c_str());
    std::fflush(stderr);
    comm::MpiRuntime::abort(1);
  }
  std::fprintf(stderr, "wisesr%s%s: error: %s\n", command.empty() ? "" : " ", printable(command).c_str(),
               line.c_str());
  return 1;
}

// The exit status of a preempted rank. Open MPI's mpirun ends a job as soon as one rank exits non-zero: it
// sends the ranks still alive SIGCONT, waits odls_base_sigkill_timeout seconds, sends SIGTERM, waits as
// long again and SIGKILLs them, and then exits with the status it saw first. For a preempted job (every
// rank done) that wait is pure delay, so only rank 0 returns the preempt status, and it leaves last (main
// waits a second after MPI_Finalize): by then the other ranks are gone and mpirun exits with rank 0's status
// at once. Under srun the job's status is the highest of its tasks': rank 0's too.
int preempt_exit_status(int preempt_exit_code, const comm::ProcessGroupInfo& info) {
  return info.rank == 0 || info.world_size == 1 ? preempt_exit_code : 0;
}

// Parse and validate; false when --help was printed instead.
template <typename Cfg, typename Parse>
bool parse_or_help(Parse parse, const Args& args, Cfg& cfg) {
  auto parsed = parse(args, cfg);
  if (parsed.help) {
    std::cout << parsed.help_text;
    return false;
  }
  cfg.validate();
  return true;
}

// A subcommand that runs on every rank of an MPI job: parse first (help and option errors need no MPI),
// then MPI start-up and the rank-aware log.
template <typename Cfg, typename Parse, typename Run>
int run_with_mpi(Parse parse, Run run, int* argc, char*** argv, const Args& args) {
  Cfg cfg;
  if (!parse_or_help(parse, args, cfg)) return 0;
  comm::MpiRuntime mpi(argc, argv);
  log::set_rank(mpi.info().rank, mpi.info().world_size);
  run(cfg, mpi.info());
  return 0;
}

// A subcommand that trains (train, sweep): preemptible. `run` returns whether a stop signal ended it (after
// a checkpoint), `exit_code` the configured --train.preempt_exit_code.
template <typename Cfg, typename Parse, typename Run, typename ExitCode>
int run_preemptible(Parse parse, Run run, ExitCode exit_code, int* argc, char*** argv, const Args& args) {
  // First, before anything slow: a stop signal from now on is recorded, not fatal (core/stop_signal.h).
  StopSignalScope::Options so;
  so.watch_launcher = StopSignalScope::launched_by_launcher();
  StopSignalScope signals(so);
  Cfg cfg;
  if (!parse_or_help(parse, args, cfg)) return 0;
  int code = 0;
  {
    comm::MpiRuntime mpi(argc, argv);
    log::set_rank(mpi.info().rank, mpi.info().world_size);
    if (run(cfg, mpi.info())) code = preempt_exit_status(exit_code(cfg), mpi.info());
  }  // MPI_Finalize: every rank is past training and the checkpoint
  if (code != 0) std::this_thread::sleep_for(std::chrono::seconds(1));  // see preempt_exit_status
  return code;
}

int train_command(int* argc, char*** argv, const Args& args) {
  return run_preemptible<config::Config>(
      config::parse_train_args,
      [](const config::Config& cfg, const comm::ProcessGroupInfo& info) {
        return train::run_train(cfg, info).preempted;
      },
      [](const config::Config& cfg) { return cfg.train.preempt_exit_code; }, argc, argv, args);
}

// Every run of a sweep is a training run, preemptible the same way.
int sweep_command(int* argc, char*** argv, const Args& args) {
  return run_preemptible<config::SweepConfig>(
      config::parse_sweep_args,
      [](const config::SweepConfig& cfg, const comm::ProcessGroupInfo& info) {
        return train::run_sweep(cfg, info).preempted;
      },
      [](const config::SweepConfig& cfg) { return cfg.base.train.preempt_exit_code; }, argc, argv, args);
}

int params_command(const Args& args) {
  config::ParamsConfig cfg;
  if (!parse_or_help(config::parse_params_args, args, cfg)) return 0;
  std::cout << models::format_summary(models::summarize(cfg.model, cfg.classes, cfg.data.image_size));
  return 0;
}

struct Command {
  const char* name;
  const char* help;
  int (*run)(int* argc, char*** argv, const Args& args);
};

const std::vector<Command> kBenchmarks = {
    {"train",
     "training throughput on a synthetic batch or shards (--data.dir): img/s, step-time breakdown, memory",
     [](int* argc, char*** argv, const Args& args) {
       return run_with_mpi<config::BenchTrainConfig>(config::parse_bench_train_args, tools::run_train_bench,
                                                     argc, argv, args);
     }},
    {"data", "input pipeline on prepared shards: read + decode (+ augmentation), img/s and img/s/core",
     [](int*, char***, const Args& args) {
       config::BenchDataConfig cfg;
       if (parse_or_help(config::parse_bench_data_args, args, cfg)) tools::run_data_bench(cfg);
       return 0;
     }},
    {"comm", "all-reduce time, algorithm and bus bandwidth across all ranks (mpirun -np N ...)",
     [](int* argc, char*** argv, const Args& args) {
       return run_with_mpi<config::BenchCommConfig>(config::parse_bench_comm_args, tools::run_comm_bench,
                                                    argc, argv, args);
     }},
};

int bench_command(int* argc, char*** argv, const Args& args);

const std::vector<Command> kCommands = {
    {"synth", "write a synthetic image-folder dataset (tasks: spatial, center, texture)",
     [](int*, char***, const Args& args) {
       prep::SynthOptions cfg;
       if (parse_or_help(config::parse_synth_args, args, cfg)) prep::run_synth(cfg);
       return 0;
     }},
    {"prep", "convert image folders or lists into train/val HDF5 shards + index.json",
     [](int*, char***, const Args& args) {
       prep::PrepOptions cfg;
       if (parse_or_help(config::parse_prep_args, args, cfg)) prep::run_prep(cfg);
       return 0;
     }},
    {"verify", "check a prepared dataset: manifest, checksums, every record decoded",
     [](int*, char***, const Args& args) {
       prep::VerifyOptions cfg;
       if (!parse_or_help(config::parse_verify_args, args, cfg)) return 0;
       return prep::run_verify(cfg) != 0 ? 1 : 0;
     }},
    {"train", "train a model on prepared shards (mpirun -np N wisesr train ...)", train_command},
    {"sweep", "train the rows of a table (configs/paper/*.cfg) and write results beside the paper's",
     sweep_command},
    {"eval", "top-1/top-5 of a checkpoint on a split of prepared shards",
     [](int* argc, char*** argv, const Args& args) {
       return run_with_mpi<config::EvalConfig>(config::parse_eval_args, train::run_eval, argc, argv, args);
     }},
    {"predict", "a checkpoint's top classes and probabilities for image files or folders",
     [](int*, char***, const Args& args) {
       config::PredictConfig cfg;
       if (!parse_or_help(config::parse_predict_args, args, cfg)) return 0;
       return tools::run_predict(cfg) > 0 ? 1 : 0;
     }},
    {"gradcam", "Grad-CAM heatmaps of a checkpoint (or two side by side) on a split, as PNGs + index.md",
     [](int*, char***, const Args& args) {
       config::GradcamConfig cfg;
       if (parse_or_help(config::parse_gradcam_args, args, cfg)) tools::run_gradcam(cfg);
       return 0;
     }},
    {"params", "parameter counts, feature map and FLOPs of a model/head at an image size",
     [](int*, char***, const Args& args) { return params_command(args); }},
    {"plan", "time, cost, memory and storage of a config on N GPUs, from bench JSON or assumed figures",
     [](int*, char***, const Args& args) {
       config::PlanConfig cfg;
       return parse_or_help(config::parse_plan_args, args, cfg) ? tools::run_plan(cfg) : 0;
     }},
    {"export", "write a checkpoint's weights as a state_dict for Python (torch.load)",
     [](int*, char***, const Args& args) {
       config::ExportConfig cfg;
       if (parse_or_help(config::parse_export_args, args, cfg)) train::export_checkpoint(cfg);
       return 0;
     }},
    {"report", "training curves (PNG) and report.md/.csv comparing run or sweep directories",
     [](int*, char*** argv, const Args& args) {
       config::ReportConfig cfg;
       if (parse_or_help(config::parse_report_args, args, cfg)) tools::run_report(cfg, (*argv)[0]);
       return 0;
     }},
    {"bench",
     "benchmarks: 'bench train' (training img/s), 'bench data' (input pipeline), 'bench comm' (all-reduce)",
     bench_command},
};

std::string usage(const std::string& what, const std::vector<Command>& commands, const char* intro) {
  std::string out = "Usage: wisesr " + what + " [options]    (wisesr " + what.substr(0, what.find(' ')) +
                    " " + (what.find(' ') == std::string::npos ? "" : "<name> ") +
                    "--help for its options)\n\n" + intro;
  for (const auto& c : commands) {
    std::string name = c.name;
    name.resize(8, ' ');
    out += "  " + name + c.help + "\n";
  }
  return out;
}

const std::string& main_usage() {
  static const std::string text =
      usage("<command>", kCommands,
            "Train image classifiers with the Wise-SrNet head (Rahimzadeh et al., 2021) on one or many "
            "GPUs.\n\n"
            "Commands:\n") +
      "\nOptions:\n  -h, --help     show this help\n  --version      print the version\n";
  return text;
}

const Command* find_command(const std::vector<Command>& commands, const std::string& name) {
  for (const auto& c : commands)
    if (name == c.name) return &c;
  return nullptr;
}

std::string names(const std::vector<Command>& commands) {
  std::vector<std::string> out;
  for (const auto& c : commands) out.emplace_back(c.name);
  return join(out);
}

// Runs a subcommand; an error is reported once, as one line naming the subcommand (fail()).
template <typename Run>
int guarded(const std::string& name, Run&& run) {
  try {
    return run();
  } catch (const Error& e) {
    return fail(name, e.what());
  } catch (const c10::Error& e) {
    return fail(name, e.what_without_backtrace());
  } catch (const std::exception& e) {
    return fail(name, e.what());
  }
}

int bench_command(int* argc, char*** argv, const Args& args) {
  const std::string sub = args.empty() ? "" : args.front();
  const std::string text = usage("bench <name>", kBenchmarks, "");
  if (sub.empty() || sub == "-h" || sub == "--help" || sub == "help") {
    std::fputs(text.c_str(), sub.empty() ? stderr : stdout);
    return sub.empty() ? 1 : 0;
  }
  const Command* bench = find_command(kBenchmarks, sub);
  if (!bench) {
    return fail("bench", "unknown benchmark '" + sub + "' (benchmarks: " + names(kBenchmarks) +
                             "; see 'wisesr bench --help')");
  }
  return guarded("bench " + sub, [&] { return bench->run(argc, argv, Args(args.begin() + 1, args.end())); });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(main_usage().c_str(), stderr);
    return 1;
  }
  const std::string command = argv[1];
  if (command == "-h" || command == "--help" || command == "help") {
    std::fputs(main_usage().c_str(), stdout);
    return 0;
  }
  if (command == "--version") {
    // The optional parts this build has, for scripts (the quickstart asks for TensorBoard files when built
    // in).
    std::vector<std::string> parts;
    if (WISESR_TORCH_HAS_CUDA) parts.push_back("CUDA");
    if (WISESR_HAVE_NCCL) parts.push_back("NCCL");
    if (WISESR_HAVE_NVJPEG) parts.push_back("nvJPEG");
    if (WISESR_HAVE_OPENCV) parts.push_back("OpenCV");
    if (WISESR_HAVE_TENSORBOARD) parts.push_back("TensorBoard");
    std::printf("wisesr %s (LibTorch %s; built with: %s)\n", WISESR_VERSION, TORCH_VERSION,
                parts.empty() ? "none of the optional parts" : join(parts, ", ").c_str());
    return 0;
  }
  const Command* c = find_command(kCommands, command);
  if (!c)
    return fail(
        "", "unknown command '" + command + "' (commands: " + names(kCommands) + "; see 'wisesr --help')");
  return guarded(command, [&] { return c->run(&argc, &argv, Args(argv + 2, argv + argc)); });
}
