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
  std::string json;  // also write the result as JSON to this file
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

}  // namespace wisesr::config
