#pragma once
// What each subcommand is configured with: compositions of the layers' option groups (each declared
// once, with its defaults, help and validation, in its layer's *_options.h) plus the few options only
// that subcommand has. No Boost here: cli.cpp is the only Boost.Program_options user, and it generates
// the command line, the INI files, --help and config.ini from these declarations, so every option has
// one spelling (--<section>.<key>) in every subcommand that takes it.
//
// Usage:
//   config::Config cfg;                               // defaults
//   config::parse_train_args(args, cfg);              // config/cli.h: command line over INI over defaults
//   cfg.validate();                                   // throws naming the first bad option
//   visit_groups(cfg, [](auto& group, const Keys& keys) { ... });   // every group the command takes
//
// The groups and their sections:
//   [data]  data::DataOptions (data/data_options.h), data::AugmentOptions (same header)
//   [model] models::ModelOptions (models/model_options.h)
//   [optim] train::OptimizerOptions, train::ScheduleOptions (train/train_options.h)
//   [train] train::RunOptions, train::RuntimeOptions (train/train_options.h), comm::CommOptions
//           (comm/comm_options.h)

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "comm/comm_options.h"
#include "data/data_options.h"
#include "models/model_options.h"
#include "train/train_options.h"

namespace wisesr::config {

/// The keys a subcommand takes from a group; empty = all of them.
using Keys = std::initializer_list<const char*>;

/// Calls f(section, key, member, help) for every option of a group.
template <typename G, typename F>
void visit_group(G& group, F&& f) {
  visit_options(group, [&](const char* key, auto& member, const std::string& help) {
    f(G::kSection, key, member, help);
  });
}

/// `wisesr train`: every group.
struct Config {
  data::DataOptions data;
  data::AugmentOptions augment;
  models::ModelOptions model;
  train::OptimizerOptions optim;
  train::ScheduleOptions schedule;
  train::RunOptions train;
  train::RuntimeOptions runtime;
  comm::CommOptions comm;

  /// Throws wisesr::Error naming the first bad option.
  void validate() const;
};

template <typename F>
void visit_groups(Config& c, F&& f) {
  f(c.data, Keys{});
  f(c.augment, Keys{});
  f(c.model, Keys{});
  f(c.optim, Keys{});
  f(c.schedule, Keys{});
  f(c.train, Keys{});
  f(c.runtime, Keys{});
  f(c.comm, Keys{});
}

/// Calls f(section, key, member, help) for every option of `wisesr train` (what config.ini holds).
template <typename F>
void visit_fields(Config& c, F&& f) {
  visit_groups(c, [&](auto& group, const Keys&) { visit_group(group, f); });
}

/// `wisesr eval`: a checkpoint on a split, on some device.
struct EvalConfig {
  std::string checkpoint;
  std::string json;       // also write the result as JSON to this file
  std::string per_class;  // per-class accuracy as CSV
  std::string confusion;  // the confusion matrix as CSV
  data::DataOptions data;
  train::RunOptions train;
  train::RuntimeOptions runtime;
  EvalConfig() { train.batch_size = 64; }
  void validate() const;
};

template <typename F>
void visit_groups(EvalConfig& c, F&& f) {
  f(c.data, Keys{"dir", "val_split", "decode"});
  f(c.train, Keys{"batch_size"});
  f(c.runtime, Keys{"device", "threads"});
}

/// `wisesr predict`: a checkpoint's top classes for image files (tools/predict.h).
struct PredictConfig {
  std::string checkpoint;
  std::vector<std::string> inputs;  // image files and directories (searched recursively)
  int topk = 5;
  std::string json;               // also write the predictions as JSON to this file
  std::string resize = "squash";  // as prep's --resize: how an image becomes the checkpoint's size
  train::RunOptions train;        // batch_size
  train::RuntimeOptions runtime;  // device, threads
  PredictConfig() { train.batch_size = 32; }
  void validate() const;
};

template <typename F>
void visit_groups(PredictConfig& c, F&& f) {
  f(c.train, Keys{"batch_size"});
  f(c.runtime, Keys{"device", "threads"});
}

/// `wisesr gradcam`: Grad-CAM heatmaps of a checkpoint (or two, side by side) on a split (tools/gradcam.h).
struct GradcamConfig {
  std::string checkpoint;
  std::string compare;  // a second checkpoint: panels input | checkpoint | compare
  std::string out;
  int count = 16;                      // images written
  std::string class_of = "predicted";  // predicted | true: the class whose map is drawn
  data::DataOptions data;              // dir, val_split
  train::RunOptions train;             // batch_size
  train::RuntimeOptions runtime;       // device, threads
  GradcamConfig() { train.batch_size = 16; }
  void validate() const;
};

template <typename F>
void visit_groups(GradcamConfig& c, F&& f) {
  f(c.data, Keys{"dir", "val_split"});
  f(c.train, Keys{"batch_size"});
  f(c.runtime, Keys{"device", "threads"});
}

/// `wisesr params`: counts of a model at an image size.
struct ParamsConfig {
  int classes = 1000;
  models::ModelOptions model;
  data::DataOptions data;
  ParamsConfig() {
    model.backbone = "resnet50";
    data.image_size = 224;
  }
  void validate() const;
};

template <typename F>
void visit_groups(ParamsConfig& c, F&& f) {
  f(c.model, Keys{"backbone", "head", "pool"});
  f(c.data, Keys{"image_size"});
}

/// `wisesr sweep`: the rows of a table, one training run each (train/sweep.h). The table is a config file
/// whose [sweep] section lists the rows; its other sections are the training options every row starts from.
struct SweepConfig {
  std::string config;  // --config: the table
  std::string rows;    // --rows: comma-separated row ids or 1-based numbers; "" = every row
  int seeds = 1;       // --seeds: runs per row (seeds train.seed, train.seed + 1, ...)
  bool dry_run = false;
  std::string out;  // --out: the sweep directory; default <train.out_dir>/sweep-<table file stem>
  // The [sweep] section.
  std::string title;                   // name = ...
  int classes = 0;                     // classes = ...: the dataset's class count (the params need it)
  std::string paper;                   // paper = ...: where the paper_* figures of the rows come from
  std::vector<std::string> row_lines;  // row = BACKBONE HEAD [key=value ...], in order
  /// The table's training options with the command line over them; a row's own options go between
  /// (sweep_row_config() in config/cli.h resolves a row: command line > row > table > defaults).
  Config base;
  std::vector<std::string> args;  // the command line, for sweep_row_config()
  void validate() const;
};

/// `wisesr export`.
struct ExportConfig {
  std::string checkpoint;
  std::string out;
  void validate() const;
};

/// `wisesr bench train`: training throughput (tools/train_bench.h).
struct BenchTrainConfig {
  int classes = 1000;
  int steps = 50;            // timed steps (after the warm-up)
  int warmup = 10;           // untimed steps first (cuDNN autotuning, allocator growth)
  int breakdown_steps = 10;  // extra steps with a device sync between phases; 0 = no breakdown
  bool no_sync = false;      // no GradSync at all (else GradSync over all ranks, as in training)
  std::string json;          // also write the result as JSON here
  models::ModelOptions model;
  data::DataOptions data;  // with data.dir: prepared shards to train from instead of the synthetic batch
  data::AugmentOptions augment;
  train::RunOptions train;
  train::RuntimeOptions runtime;
  train::OptimizerOptions optim;
  comm::CommOptions comm;
  BenchTrainConfig() {
    model.backbone = "resnet50";
    data.image_size = 224;
    train.batch_size = 64;
  }
  void validate() const;
};

template <typename F>
void visit_groups(BenchTrainConfig& c, F&& f) {
  f(c.model, Keys{});
  f(c.data, Keys{"dir", "train_split", "image_size", "workers", "prefetch", "decode"});
  f(c.augment, Keys{});
  f(c.train, Keys{"batch_size", "seed"});
  f(c.runtime, Keys{});
  f(c.optim, Keys{});
  f(c.comm, Keys{});
}

/// `wisesr bench data`: input-pipeline throughput (tools/data_bench.h).
struct BenchDataConfig {
  int batches = 20;  // timed batches per mode
  int warmup = 3;    // untimed batches first
  int threads = 0;   // decode threads (the core count of img/s/core); 0 = all cores
  std::string json;
  data::DataOptions data;
  data::AugmentOptions augment;  // the recipe measured next to plain decoding
  train::RunOptions train;
  train::RuntimeOptions runtime;
  BenchDataConfig() {
    train.batch_size = 64;
    runtime.device = train::DeviceKind::kCpu;
  }
  void validate() const;
};

template <typename F>
void visit_groups(BenchDataConfig& c, F&& f) {
  f(c.data, Keys{"dir", "train_split", "image_size", "prefetch", "decode"});
  f(c.augment, Keys{});
  f(c.train, Keys{"batch_size", "seed"});
  f(c.runtime, Keys{"device"});
}

/// --dtype of `wisesr bench comm`.
enum class CommDtype { kFloat, kBf16 };
constexpr auto enum_names(CommDtype) {
  return std::array{EnumName{CommDtype::kFloat, "float"}, EnumName{CommDtype::kBf16, "bf16"}};
}

/// `wisesr bench comm`: all-reduce timing across all ranks (tools/comm_bench.h).
struct BenchCommConfig {
  std::string sizes = "1K,1M,64M";  // message sizes in bytes, K/M/G = 2^10/2^20/2^30
  int iters = 20;
  int warmup = 5;
  CommDtype dtype = CommDtype::kFloat;
  std::string json;
  comm::CommOptions comm;
  void validate() const;
};

template <typename F>
void visit_groups(BenchCommConfig& c, F&& f) {
  f(c.comm, Keys{"backend"});
}

/// Message sizes such as "1K,64K,1M" -> bytes {1024, 65536, 1048576}; throws on a malformed list.
std::vector<int64_t> parse_sizes(const std::string& text);

/// The [plan] section of a config file (or --plan.<key>): dataset and cluster figures for `wisesr plan`
/// (tools/plan.h). 0 (or "") = not given: the figure is then measured (a bench file, the dataset's
/// manifest) or a documented default, which the plan marks as assumed.
struct PlanOptions {
  static constexpr const char* kSection = "plan";
  static constexpr const char* kCaption = "Plan figures ([plan] in the config file; 0 = measured or assumed)";
  int64_t global_batch = 0;  // fixed global batch over every GPU count; 0 = train.batch_size x accum x GPUs
  int64_t train_images = 0, val_images = 0;
  int classes = 0;
  double image_kb = 0;         // stored bytes per image / 1000
  int gpus_per_node = 0;       // 0 = 8
  int cores_per_node = 0;      // decode cores per node
  double decode_per_core = 0;  // img/s per core (decode; + augmentation on the CPU)
  double nvlink_busbw = 0, ib_busbw = 0, latency_us = 0;
  double tflops = 0;         // effective training TFLOPS per GPU, without a bench train file
  double activation_mb = 0;  // activation memory per image at the config's size and precision
  std::string assumed;       // comma-separated keys of this section that are estimates, not facts
};

template <typename F>
void visit_options(PlanOptions& o, F&& f) {
  f("global_batch", o.global_batch,
    "global batch kept for every GPU count (per GPU = global / GPUs, split into micro-batches of at most "
    "--train.batch_size); 0 = --train.batch_size x accum_steps x GPUs");
  f("train_images", o.train_images, "training images; 0 = the manifest of --data.dir, else ImageNet-1k's");
  f("val_images", o.val_images, "validation images; 0 = the manifest of --data.dir, else ImageNet-1k's");
  f("classes", o.classes, "classes; 0 = the manifest of --data.dir, else 1000");
  f("image_kb", o.image_kb, "stored kB (1000 bytes) per image in the shards; 0 = the manifest, else assumed");
  f("gpus_per_node", o.gpus_per_node, "GPUs per node (NVLink domain); 0 = 8");
  f("cores_per_node", o.cores_per_node, "CPU cores per node that decode JPEGs; 0 = 128");
  f("decode_per_core", o.decode_per_core, "decoded img/s per core; 0 = a bench data file, else assumed");
  f("nvlink_busbw", o.nvlink_busbw, "all-reduce bus bandwidth within a node, GB/s; 0 = bench comm or 360");
  f("ib_busbw", o.ib_busbw, "all-reduce bus bandwidth across nodes, GB/s; 0 = bench comm or 45");
  f("latency_us", o.latency_us, "latency of one all-reduce in us; 0 = bench comm or 10");
  f("tflops", o.tflops, "effective training TFLOPS per GPU (3 x forward FLOPs) without bench train; 0 = 40");
  f("activation_mb", o.activation_mb,
    "activation memory per image in MB at the config's size; 0 = bench train peak memory, else assumed");
  f("assumed", o.assumed, "comma-separated keys of [plan] that are estimates: the plan marks them assumed");
}

/// `wisesr plan`: time, cost, memory and storage of a training config on some GPU counts (tools/plan.h).
struct PlanConfig {
  std::string config;              // --config: the training config (its [plan] section fills `plan`)
  std::string gpus;                // --gpus 8,64,512
  std::vector<std::string> bench;  // --bench: JSON files of wisesr bench train / comm / data
  double gpu_hour_cost = 0;        // USD; 0 = assumed 2.5
  double checkpoint_gbps = 0;      // checkpoint write GB/s; 0 = assumed 1
  std::string json;
  PlanOptions plan;
  Config train;  // the training config, command line over --config over defaults (--data.dir optional)
  void validate() const {
    WISESR_CHECK(!config.empty(), "--config is required (a training config file)");
    WISESR_CHECK(!gpus.empty(), "--gpus is required (GPU counts, e.g. 8,64,512)");
    WISESR_CHECK(gpu_hour_cost >= 0 && checkpoint_gbps >= 0,
                 "--gpu-hour-cost and --checkpoint-gbps must be >= 0");
    const PlanOptions& p = plan;
    for (double v : {double(p.global_batch), double(p.train_images), double(p.val_images), double(p.classes),
                     p.image_kb, double(p.gpus_per_node), double(p.cores_per_node), p.decode_per_core,
                     p.nvlink_busbw, p.ib_busbw, p.latency_us, p.tflops, p.activation_mb})
      WISESR_CHECK(v >= 0, "config file '", config, "': [plan] figures must be >= 0 (0 = not given), got ",
                   v);
    train.data.validate();
    train.augment.validate();
    train.model.validate();
    train.optim.validate();
    train.schedule.validate();
    train.train.validate();
    train.runtime.validate();
    train.comm.validate();
  }
};

template <typename F>
void visit_groups(PlanConfig& c, F&& f) {
  f(c.plan, Keys{});
  visit_groups(c.train, f);
}

/// `wisesr report`: training curves and a comparison of run directories (tools/report.h).
struct ReportConfig {
  std::vector<std::string> runs;  // run directories, or `wisesr sweep` directories (all their runs)
  std::string out;                // output directory: *.png, report.md, report.csv
  std::string python;             // "" = the venv's Python found at build time, else python3 on PATH
  void validate() const {
    WISESR_CHECK(!runs.empty(), "no run directory given (wisesr report RUN_DIR... --out DIR)");
    WISESR_CHECK(!out.empty(), "--out DIR is required");
  }
};

}  // namespace wisesr::config
