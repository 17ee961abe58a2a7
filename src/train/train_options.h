#pragma once
// The training layer's option groups, spelled --optim.<key> and --train.<key> (INI sections [optim] and
// [train]) in every subcommand that takes them; see data/data_options.h for how groups are declared and
// used:
//   RuntimeOptions   device, precision, channels_last, CUDA graph, intra-op threads   (train/runtime.h)
//   OptimizerOptions SGD / LARS and what the step does to gradients                  (train/optimizer.h)
//   ScheduleOptions  learning rate and its schedule                                  (train/lr_schedule.h)
//   RunOptions       epochs, batches, seeds, the run directory, checkpoints, failures (train/trainer.h)

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/enum.h"

namespace wisesr::train {

/// --train.device: auto = GPU <local rank> when CUDA is available, else the CPU.
enum class DeviceKind { kAuto, kCpu, kCuda };
constexpr auto enum_names(DeviceKind) {
  return std::array{EnumName{DeviceKind::kAuto, "auto"}, EnumName{DeviceKind::kCpu, "cpu"},
                    EnumName{DeviceKind::kCuda, "cuda"}};
}

/// --train.precision of the forward/backward pass; auto = bf16 on CUDA, fp32 on the CPU (resolve_precision).
enum class Precision { kAuto, kFp32, kBf16, kFp16 };
constexpr auto enum_names(Precision) {
  return std::array{EnumName{Precision::kAuto, "auto"}, EnumName{Precision::kFp32, "fp32"},
                    EnumName{Precision::kBf16, "bf16"}, EnumName{Precision::kFp16, "fp16"}};
}

/// --train.cuda_graph: capture the whole step (train/step_graph.h) where the run allows, always, or never.
enum class CudaGraph { kAuto, kOn, kOff };
constexpr auto enum_names(CudaGraph) {
  return std::array{EnumName{CudaGraph::kAuto, "auto"}, EnumName{CudaGraph::kOn, "on"},
                    EnumName{CudaGraph::kOff, "off"}};
}

struct RuntimeOptions {
  static constexpr const char* kSection = "train";
  static constexpr const char* kCaption = "Device and precision";

  DeviceKind device = DeviceKind::kAuto;
  Precision precision = Precision::kAuto;
  bool channels_last = true;  // NHWC activations on CUDA
  CudaGraph cuda_graph = CudaGraph::kAuto;
  int threads = 0;  // intra-op threads per rank; 0 = cores / ranks on this node

  void validate() const;
};

template <typename F>
void visit_options(RuntimeOptions& o, F&& f) {
  f("device", o.device, "auto | cpu | cuda (one GPU per rank, by node-local rank)");
  f("precision", o.precision, "auto (bf16 on CUDA, fp32 on CPU) | fp32 | bf16 | fp16 (loss scaling)");
  f("channels_last", o.channels_last, "NHWC memory format on CUDA");
  f("cuda_graph", o.cuda_graph,
    "capture the whole training step as a CUDA graph, replayed once per step: auto (on CUDA with bf16/fp32, "
    "NCCL or no collectives, accum_steps 1; eager otherwise) | on (an error where it cannot) | off");
  f("threads", o.threads,
    "intra-op CPU threads per rank; 0 = cores / ranks on the node; at most max(256, 4 x hardware threads)");
}

/// --optim.optimizer.
enum class OptimizerKind { kSgd, kLars };
constexpr auto enum_names(OptimizerKind) {
  return std::array{EnumName{OptimizerKind::kSgd, "sgd"}, EnumName{OptimizerKind::kLars, "lars"}};
}

struct OptimizerOptions {
  static constexpr const char* kSection = "optim";
  static constexpr const char* kCaption = "Optimizer";

  OptimizerKind optimizer = OptimizerKind::kSgd;
  double momentum = 0.9;
  double weight_decay = 0.0;
  bool wd_exclude_bn_bias = true;  // no weight decay (and no LARS scaling) on 1-D tensors: biases, BN
  double lars_eta = 0.001;         // LARS trust coefficient
  double label_smoothing = 0.0;
  double clip_grad_norm = 0.0;  // clip the global gradient norm to this; 0 = off

  void validate() const;
};

template <typename F>
void visit_options(OptimizerOptions& o, F&& f) {
  f("optimizer", o.optimizer, "sgd | lars (layer-wise trust ratio, for batches >= 8k)");
  f("momentum", o.momentum, "momentum (paper: 0.9)");
  f("weight_decay", o.weight_decay, "L2 weight decay");
  f("wd_exclude_bn_bias", o.wd_exclude_bn_bias,
    "no weight decay or LARS scaling for biases and BatchNorm parameters (1-D tensors)");
  f("lars_eta", o.lars_eta, "LARS trust coefficient");
  f("label_smoothing", o.label_smoothing, "label smoothing in [0, 1)");
  f("clip_grad_norm", o.clip_grad_norm, "clip the global gradient L2 norm; 0 = off");
}

/// --optim.schedule (train/lr_schedule.h gives the formulas).
enum class Schedule { kStaircase, kStep, kCosine, kConstant };
constexpr auto enum_names(Schedule) {
  return std::array{EnumName{Schedule::kStaircase, "staircase"}, EnumName{Schedule::kStep, "step"},
                    EnumName{Schedule::kCosine, "cosine"}, EnumName{Schedule::kConstant, "constant"}};
}

struct ScheduleOptions {
  static constexpr const char* kSection = "optim";
  static constexpr const char* kCaption = "Learning-rate schedule";

  double lr = 0.045;  // the paper's initial learning rate (for ref_batch, when set)
  Schedule schedule = Schedule::kStaircase;
  double lr_decay =
      0.94;  // staircase: lr * lr_decay^floor(epoch / lr_decay_epochs); step: factor per milestone
  int lr_decay_epochs = 2;
  std::string milestones = "30,60,80";  // step schedule: epochs at which lr *= lr_decay
  double min_lr = 0.0;                  // cosine: final learning rate
  int ref_batch = 0;                    // linear scaling: lr * global_batch / ref_batch; 0 = no scaling
  double warmup_epochs = 0;             // gradual warmup (per step) from warmup_from * lr to lr
  double warmup_from = -1;              // -1 = ref_batch / global_batch with scaling (Goyal et al.), else 0

  void validate() const;
};

template <typename F>
void visit_options(ScheduleOptions& o, F&& f) {
  f("lr", o.lr, "initial learning rate (paper: 0.045); the rate at ref_batch when that is set");
  f("schedule", o.schedule, "staircase (paper) | step | cosine | constant");
  f("lr_decay", o.lr_decay,
    "staircase: factor every lr_decay_epochs (paper: 0.94); step: factor at each milestone");
  f("lr_decay_epochs", o.lr_decay_epochs, "staircase: epochs between decays (paper: 2)");
  f("milestones", o.milestones, "step schedule: comma-separated epochs");
  f("min_lr", o.min_lr, "cosine schedule: final learning rate");
  f("ref_batch", o.ref_batch, "linear scaling rule: lr x global_batch / ref_batch; 0 = use lr as given");
  f("warmup_epochs", o.warmup_epochs, "gradual warmup length in epochs (per step); 0 = none");
  f("warmup_from", o.warmup_from,
    "warmup starts at this fraction of lr; -1 = ref_batch/global_batch when scaling, else 0");
}

/// The step-schedule milestones ("30,60,80" -> {30, 60, 80}); throws on a malformed list.
std::vector<double> parse_milestones(const std::string& text);

/// --train.progress: a redrawn bar on a terminal (auto), always, or plain log lines.
enum class Progress { kAuto, kBar, kLines };
constexpr auto enum_names(Progress) {
  return std::array{EnumName{Progress::kAuto, "auto"}, EnumName{Progress::kBar, "bar"},
                    EnumName{Progress::kLines, "lines"}};
}

struct RunOptions {
  static constexpr const char* kSection = "train";
  static constexpr const char* kCaption = "Run";
  static constexpr int kMaxBatchSize = 65536;  // per rank
  static constexpr int kMaxAccumSteps = 4096;

  int epochs = 1;
  int batch_size = 32;    // per rank
  int accum_steps = 1;    // micro-batches per optimizer step (gradient accumulation)
  int64_t max_steps = 0;  // stop after this many optimizer steps in total; 0 = run all epochs
  uint64_t seed = 42;
  std::string out_dir = "runs";
  std::string run_name;  // default: <backbone>-<head>-<date>
  int log_every = 10;    // steps between progress lines / JSONL records
  bool eval_each_epoch = true;
  std::string resume;              // "" | auto | checkpoint path
  bool resume_force = false;       // resume although settings that define the experiment changed
  int keep_checkpoints = 3;        // keep the newest K step checkpoints (+ best.pt)
  int64_t checkpoint_every = 0;    // also checkpoint every N steps (mid-epoch); 0 = at epoch ends
  double timeout_s = 60;           // no progress for this long on any rank -> the job ends; 0 = off
  double startup_timeout_s = 600;  // the limit until 3 steps are done (autotuning, graph capture)
  int preempt_exit_code = 0;       // exit status after a signal-triggered checkpoint
  Progress progress = Progress::kAuto;
  double lock_stale_s = 300;  // a run lock without heartbeat this long is taken over
  std::string status_file;    // rank 0 writes "<status> <exit code>" here at the end
  bool tensorboard = false;   // rank 0 writes TensorBoard event files in the run directory
  std::string fault;          // testing: "<throw|hang|kill|term|slowsave>@<rank>:<step|seconds>"

  void validate() const;
};

template <typename F>
void visit_options(RunOptions& o, F&& f) {
  f("epochs", o.epochs, "number of epochs");
  f("batch_size", o.batch_size, "batch size per rank (global batch = batch_size x ranks), in [1, 65536]");
  f("accum_steps", o.accum_steps,
    "micro-batches per optimizer step (gradient accumulation; global batch x this), in [1, 4096]");
  f("max_steps", o.max_steps, "stop after this many steps; 0 = all epochs");
  f("seed", o.seed, "seed for initialisation, shuffling and augmentation");
  f("out_dir", o.out_dir, "directory under which the run directory is created");
  f("run_name", o.run_name, "run directory name; default <backbone>-<head>-<date>");
  f("log_every", o.log_every, "steps between progress lines and metrics records");
  f("eval_each_epoch", o.eval_each_epoch, "evaluate on the validation split after each epoch");
  f("resume", o.resume,
    "'auto' = newest valid checkpoint of run_name (fresh start if none), or a checkpoint path");
  f("resume_force", o.resume_force,
    "resume even though settings that define the experiment (model, data, optimizer, schedule, seed, "
    "global batch, precision, augmentation) differ from the checkpoint's; the differences are logged and "
    "recorded in config-history/");
  f("keep_checkpoints", o.keep_checkpoints, "newest step checkpoints kept (best.pt is extra)");
  f("checkpoint_every", o.checkpoint_every, "also checkpoint every N steps; 0 = epoch ends only");
  f("timeout_s", o.timeout_s,
    "a rank without progress for this many seconds ends the job (must exceed a checkpoint write); 0 = off");
  f("startup_timeout_s", o.startup_timeout_s,
    "the no-progress limit until the first 3 steps are done (cuDNN autotuning, CUDA-graph capture, cold "
    "caches), when larger than --train.timeout_s");
  f("preempt_exit_code", o.preempt_exit_code,
    "exit status after a stop signal (SIGTERM, SIGINT, SIGUSR1, SIGUSR2; mpirun's SIGCONT) made every rank "
    "checkpoint and stop");
  f("progress", o.progress, "auto (a bar on a terminal) | bar | lines");
  f("lock_stale_s", o.lock_stale_s,
    "the run directory's lock is taken over when its holder is gone: same host and pid gone, an earlier "
    "run of the same Slurm job, or no heartbeat for this many seconds (a job that died on another host); "
    "0 = never by age");
  f("status_file", o.status_file,
    "rank 0 writes '<status> <exit code>' here when the run ends (completed, max_steps, preempted), for "
    "wrappers such as launch/train.sh: mpirun exits 1 once it has ended a job on SIGTERM/SIGINT, whatever "
    "the ranks returned");
  f("tensorboard", o.tensorboard,
    "also write TensorBoard event files in the run directory (scalars per logging window and per epoch, the "
    "resolved config as text): tensorboard --logdir <out_dir>");
  f("fault", o.fault,
    "fault injection for tests: <throw|hang|kill|term>@<rank>:<step> (before that step), or "
    "slowsave@<rank>:<seconds> (each checkpoint that rank writes takes that much longer)");
}

/// A parsed --train.fault: make `rank` throw, hang, die (SIGKILL) or get SIGTERM before optimizer step
/// `step`, or (slowsave) take `step` seconds longer over each checkpoint it writes (tests of failure
/// handling).
enum class FaultKind { kNone, kThrow, kHang, kKill, kTerm, kSlowsave };
constexpr auto enum_names(FaultKind) {
  return std::array{EnumName{FaultKind::kNone, "none"}, EnumName{FaultKind::kThrow, "throw"},
                    EnumName{FaultKind::kHang, "hang"}, EnumName{FaultKind::kKill, "kill"},
                    EnumName{FaultKind::kTerm, "term"}, EnumName{FaultKind::kSlowsave, "slowsave"}};
}
struct Fault {
  FaultKind kind = FaultKind::kNone;
  int rank = -1;
  int64_t step = 0;  // slowsave: seconds
};
/// "" -> no fault; otherwise throws naming --train.fault unless it is well formed.
Fault parse_fault(const std::string& text);

}  // namespace wisesr::train
