#include "tools/plan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "core/error.h"
#include "core/fs.h"
#include "core/strings.h"
#include "data/manifest.h"
#include "models/classifier.h"
#include "models/summary.h"

namespace wisesr::tools {
namespace {

using nlohmann::json;

// The documented defaults (docs/scaling.md, "Plan"): each is marked assumed wherever it is used.
constexpr int64_t kImageNetTrain = 1281167, kImageNetVal = 50000, kImageNetClasses = 1000;
constexpr double kJpegBytesPerPixel =
    0.4;  // photos squashed to S x S, JPEG q90: ~20 kB at 224, ~105 kB at 512
constexpr int kGpusPerNode = 8;
constexpr int kCoresPerNode = 128;                                    // 16 per H200 (docs/benchmarks.md)
constexpr double kNvlinkBusbw = 360, kIbBusbw = 45, kLatencyUs = 10;  // docs/scaling.md
constexpr double kTflops = 40;             // effective bf16 training TFLOPS of a convnet on an H100/H200
constexpr double kBackwardFraction = 0.6;  // of the step, as tests/bench/scaling_model.py assumes
// Decode time per image and core: a fixed part plus one proportional to the pixels, 1 ms in all at 512^2
// (~1,000 img/s/core decoding 512^2 q90, docs/benchmarks.md, CI CPU): ~3,700 img/s/core at 224^2.
constexpr double kDecodeFixedMs = 0.1, kDecodeMs512 = 0.9;
constexpr double kGpuHourUsd = 2.5, kCheckpointGbps = 1.0;
constexpr double kMB = 1e6, kGB = 1e9, kGiB = 1024.0 * 1024.0 * 1024.0;

// Activation memory per image in MB at 224^2 with bf16 autocast (fp32: twice), rough figures for the
// torchvision/timm layouts; other backbones: 7 MB per forward GFLOP.
double assumed_activation_mb_224(const std::string& backbone, double gflops_224) {
  static const std::map<std::string, double> mb = {
      {"resnet-tiny", 1.5}, {"resnet18", 25},    {"resnet50", 60},     {"resnet50v2", 60},
      {"densenet121", 75},  {"densenet169", 95}, {"densenet201", 120}, {"xception", 90}};
  const auto it = mb.find(backbone);
  return it != mb.end() ? it->second : 7 * gflops_224;
}

Figure given(double v, std::string from) { return {v, Source::kGiven, std::move(from)}; }
Figure assumed(double v, std::string from) { return {v, Source::kAssumed, std::move(from)}; }
Figure measured(double v, std::string from) { return {v, Source::kMeasured, std::move(from)}; }

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

// 1234567.8 -> "1,234,568" (decimals 0) or "1,234,567.8".
std::string thousands(double v, int decimals = 0) {
  const std::string s = fmt(("%." + std::to_string(decimals) + "f").c_str(), v);
  const size_t sign = s[0] == '-' ? 1 : 0, dot = std::min(s.find('.'), s.size());
  return s.substr(0, sign) + group_thousands(std::stoll(s.substr(sign, dot - sign))) + s.substr(dot);
}

// Bytes as "26.6 GB", "205 MB", "2.0 kB" (powers of 1000).
std::string human(double bytes) {
  if (bytes >= 1e9) return fmt("%.1f GB", bytes / 1e9);
  if (bytes >= 1e6) return fmt("%.0f MB", bytes / 1e6);
  return fmt("%.1f kB", bytes / 1e3);
}

// Small counts with a decimal, large ones with thousands separators.
std::string amount(double v) { return v < 100 ? fmt("%.1f", v) : thousands(v); }

bool listed(const std::string& list, const std::string& key) {
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ','))
    if (trim(item) == key) return true;
  return false;
}

// A [plan] figure: given (or assumed when [plan] assumed lists it), else `fallback`.
Figure plan_figure(const config::PlanConfig& cfg, const char* key, double value, Figure fallback) {
  if (value <= 0) return fallback;
  const std::string from = "config [plan] " + std::string(key) + " (or --plan." + key + ")";
  return listed(cfg.plan.assumed, key) ? assumed(value, from + ", an estimate") : given(value, from);
}

struct ManifestFigures {
  bool found = false;
  std::string path;
  int64_t train = 0, val = 0, classes = 0, image_size = 0;
  double bytes = 0;  // shards of both splits
};

ManifestFigures read_manifest(const config::PlanConfig& cfg) {
  ManifestFigures m;
  const auto& d = cfg.train.data;
  std::error_code ec;
  if (d.dir.empty() || !std::filesystem::exists(std::filesystem::path(d.dir) / "index.json", ec)) return m;
  const auto man = data::Manifest::load(d.dir);
  m.found = true;
  m.path = (std::filesystem::path(d.dir) / "index.json").string();
  m.classes = static_cast<int64_t>(man.classes.size());
  m.image_size = man.image_size;
  auto split = [&](const std::string& name, int64_t& records) {
    const auto it = man.splits.find(name);
    if (it == man.splits.end()) return;
    records = static_cast<int64_t>(it->second.records);
    for (const auto& s : it->second.shards) m.bytes += static_cast<double>(s.bytes);
  };
  split(d.train_split, m.train);
  split(d.val_split, m.val);
  return m;
}

// The figures of the config, its [plan] section, the manifest and the defaults; none of the model's.
PlanInputs base_inputs(const config::PlanConfig& cfg) {
  const config::Config& t = cfg.train;
  const ManifestFigures m = read_manifest(cfg);
  auto from_manifest = [&](double v) { return Figure{v, Source::kManifest, m.path}; };
  PlanInputs in;
  in.config_file = cfg.config;
  in.backbone = t.model.backbone;
  in.head = t.model.head;
  const bool cpu = t.runtime.device == train::DeviceKind::kCpu;
  in.precision = t.runtime.precision == train::Precision::kAuto ? (cpu ? "fp32" : "bf16")
                                                                : to_string(t.runtime.precision);
  in.image_size = t.data.image_size > 0 ? t.data.image_size : m.image_size;
  WISESR_CHECK(in.image_size > 0, "config file '", cfg.config,
               "': set --data.image_size (or --data.dir with a prepared dataset)");
  in.micro_batch_max = t.train.batch_size;
  in.accum_steps = t.train.accum_steps;
  in.global_batch = cfg.plan.global_batch;
  in.epochs = t.train.epochs;
  in.max_steps = t.train.max_steps;
  in.eval_each_epoch = t.train.eval_each_epoch;
  in.checkpoint_every = t.train.checkpoint_every;
  in.first_bucket_bytes = static_cast<int64_t>(std::llround(t.comm.first_bucket_mb * (1 << 20)));
  in.bucket_bytes = static_cast<int64_t>(std::llround(t.comm.bucket_mb * (1 << 20)));
  const auto& p = cfg.plan;
  // The dataset: its manifest when --data.dir has one, else [plan], else ImageNet-1k's (assumed).
  auto dataset = [&](const char* key, double plan_value, double manifest_value, Figure fallback) {
    return m.found ? from_manifest(manifest_value) : plan_figure(cfg, key, plan_value, std::move(fallback));
  };
  in.classes = dataset("classes", p.classes, static_cast<double>(m.classes),
                       assumed(kImageNetClasses, "ImageNet-1k's 1000 classes"));
  in.train_images = dataset("train_images", static_cast<double>(p.train_images), static_cast<double>(m.train),
                            assumed(kImageNetTrain, "ImageNet-1k's training set"));
  in.val_images = dataset("val_images", static_cast<double>(p.val_images), static_cast<double>(m.val),
                          assumed(kImageNetVal, "ImageNet-1k's validation set"));
  const double px = static_cast<double>(in.image_size * in.image_size);
  const double records = static_cast<double>(m.train + m.val);
  in.image_bytes = dataset("image_kb", p.image_kb * 1000, records > 0 ? m.bytes / records : 0,
                           assumed(kJpegBytesPerPixel * px,
                                   fmt("%.1f", kJpegBytesPerPixel) + " bytes/pixel (JPEG q90 of photos)"));
  in.shard_bytes = m.found ? from_manifest(m.bytes)
                           : Figure{(in.train_images.value + in.val_images.value) * in.image_bytes.value,
                                    in.image_bytes.assumed() || in.train_images.assumed() ? Source::kAssumed
                                                                                          : Source::kGiven,
                                    "images x bytes per image"};
  in.gpus_per_node = plan_figure(cfg, "gpus_per_node", p.gpus_per_node, assumed(kGpusPerNode, "8 per node"));
  in.cores_per_node =
      plan_figure(cfg, "cores_per_node", p.cores_per_node, assumed(kCoresPerNode, "16 cores per GPU"));
  in.nvlink_busbw = plan_figure(cfg, "nvlink_busbw", p.nvlink_busbw,
                                assumed(kNvlinkBusbw, "NVLink, typical all_reduce_perf on 8 H100/H200"));
  in.ib_busbw = plan_figure(cfg, "ib_busbw", p.ib_busbw,
                            assumed(kIbBusbw, "400 Gb/s InfiniBand, one NIC per GPU, at ~90% of line rate"));
  in.latency_us = plan_figure(cfg, "latency_us", p.latency_us, assumed(kLatencyUs, "per all-reduce"));
  const double decode_ms = kDecodeFixedMs + kDecodeMs512 * px / (512.0 * 512.0);
  in.decode_per_core =
      plan_figure(cfg, "decode_per_core", p.decode_per_core,
                  assumed(1e3 / decode_ms,
                          "1 / (0.1 ms + 0.9 ms x (size / 512)^2): 1,000 img/s/core at 512^2 "
                          "(docs/benchmarks.md)"));
  in.gpu_hour_cost = cfg.gpu_hour_cost > 0 ? given(cfg.gpu_hour_cost, "--gpu-hour-cost")
                                           : assumed(kGpuHourUsd, "USD per GPU-hour (--gpu-hour-cost)");
  in.checkpoint_gbps =
      cfg.checkpoint_gbps > 0
          ? given(cfg.checkpoint_gbps, "--checkpoint-gbps")
          : assumed(kCheckpointGbps, "GB/s from one rank to shared storage (--checkpoint-gbps)");
  return in;
}

json read_bench(const std::string& path) {
  std::error_code ec;
  WISESR_CHECK(std::filesystem::is_regular_file(path, ec), "cannot read bench file '", path, "'");
  const std::string text = fs::read_file(path);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    WISESR_THROW("bench file '", path, "' is not valid JSON at byte ", e.byte);
  }
}

// A number in a bench file; -1 for a null (a figure the bench did not measure) when `nullable`.
double number(const json& j, const std::string& path, const char* key, bool nullable = false) {
  const auto it = j.find(key);
  if (nullable && (it == j.end() || it->is_null())) return -1;
  WISESR_CHECK(it != j.end() && it->is_number(), "bench file '", path, "': '", key,
               "' is missing or not a number");
  return it->get<double>();
}

std::string text(const json& j, const std::string& path, const char* key) {
  const auto it = j.find(key);
  WISESR_CHECK(it != j.end() && it->is_string(), "bench file '", path, "': '", key,
               "' is missing or not a string");
  return it->get<std::string>();
}

// Static memory per GPU: fp32 weights, gradients (GradSync's buckets), momentum; autocast's bf16/fp16
// weight copies; buffers.
double static_bytes(const PlanInputs& in) {
  const double p = static_cast<double>(in.model.params);
  return p * 12 + (in.precision == "fp32" ? 0 : p * 2) + static_cast<double>(in.model.buffer_bytes);
}

void apply_train_bench(const json& j, const std::string& path, PlanInputs& in) {
  const std::string model = text(j, path, "model"), head = text(j, path, "head");
  const auto size = static_cast<int64_t>(number(j, path, "image_size"));
  WISESR_CHECK(model == in.backbone && head == in.head && size == in.image_size, "bench file '", path,
               "' measured ", model, "+", head, " at ", size, " px, but the config trains ", in.backbone, "+",
               in.head, " at ", in.image_size, " px");
  const auto params = static_cast<int64_t>(number(j, path, "params"));
  WISESR_CHECK(params == in.model.params, "bench file '", path, "' measured a model of ", params,
               " parameters, but the config's has ", in.model.params, " (another class count?)");
  const auto batch = static_cast<int>(number(j, path, "batch"));
  WISESR_CHECK(batch > 0, "bench file '", path, "': 'batch' must be positive");
  const double step = number(j, path, "step_ms");
  WISESR_CHECK(step > 0, "bench file '", path, "': 'step_ms' must be positive");
  const std::string what = path + " (bench train, " + j.value("device", std::string("?")) + " " +
                           j.value("precision", std::string("?")) + ", batch " + std::to_string(batch) +
                           ", " + std::to_string(j.value("ranks", 1)) + " rank(s))";
  in.bench_batch = batch;
  in.step_ms = measured(step, what);
  const double bwd = number(j, path, "backward_ms", true), opt = number(j, path, "optimizer_ms", true),
               fwd = number(j, path, "forward_ms", true);
  in.backward_ms = bwd >= 0 ? measured(bwd, what)
                            : assumed(kBackwardFraction * step, "60% of the measured step (no breakdown)");
  in.optimizer_ms = opt >= 0 ? measured(opt, what) : assumed(0, "0 (no breakdown)");
  in.forward_ms = fwd >= 0
                      ? measured(fwd, what)
                      : assumed((1 - kBackwardFraction) * step, "40% of the measured step (no breakdown)");
  const double peak = number(j, path, "peak_mem_bytes", true);
  if (peak > 0) {
    const double act = std::max(0.0, (peak - static_bytes(in)) / batch);
    in.activation_bytes = measured(act, what + ": (peak_mem_bytes - weights, gradients, momentum) / batch");
  }
}

void apply_comm_bench(const json& j, const std::string& path, PlanInputs& in,
                      std::map<bool, std::string>& seen) {
  const int ranks = static_cast<int>(number(j, path, "ranks"));
  WISESR_CHECK(ranks >= 2, "bench file '", path, "' is an all-reduce over ", ranks,
               " rank: it measures no bus bandwidth (run it under mpirun -np N, N >= 2)");
  const auto rows = j.find("rows");
  WISESR_CHECK(rows != j.end() && rows->is_array() && !rows->empty(), "bench file '", path, "' has no rows");
  const json* largest = nullptr;
  const json* smallest = nullptr;
  for (const auto& r : *rows) {
    const double bytes = number(r, path, "bytes");
    if (!largest || bytes > number(*largest, path, "bytes")) largest = &r;
    if (!smallest || bytes < number(*smallest, path, "bytes")) smallest = &r;
  }
  const bool inter = ranks > static_cast<int>(in.gpus_per_node.value);
  WISESR_CHECK(!seen.count(inter), "bench files '", seen[inter], "' and '", path,
               "' both measure all-reduces ", inter ? "across nodes" : "within a node", ": give one of each");
  seen[inter] = path;
  const std::string what = path + " (bench comm, " + std::to_string(ranks) + " ranks, " +
                           j.value("backend", std::string("?")) + " on " +
                           j.value("device", std::string("?"));
  const double busbw = number(*largest, path, "busbw_gbps");
  WISESR_CHECK(busbw > 0, "bench file '", path, "': bus bandwidth 0 at the largest size");
  (inter ? in.ib_busbw : in.nvlink_busbw) =
      measured(busbw, what + ", " + thousands(number(*largest, path, "bytes")) + " bytes)");
  if (number(*smallest, path, "bytes") <= 64 * 1024) {
    const double lat = number(*smallest, path, "time_us");
    if (in.latency_us.source != Source::kMeasured || lat > in.latency_us.value)
      in.latency_us =
          measured(lat, what + ", time of " + thousands(number(*smallest, path, "bytes")) + " bytes)");
  }
}

void apply_data_bench(const json& j, const std::string& path, PlanInputs& in, bool cpu,
                      const std::string& augment) {
  const auto size = static_cast<int64_t>(number(j, path, "out_size"));
  WISESR_CHECK(size == in.image_size, "bench file '", path, "' decoded to ", size,
               " px, but the config trains at ", in.image_size, " px");
  // On a GPU the CPU only decodes (the augmentation runs on the GPU): the "decode" row; on the CPU the
  // recipe's row.
  const std::string want = cpu ? augment : "decode";
  const json* row = nullptr;
  for (const auto& r : j.at("rows"))
    if (r.value("mode", std::string()) == want || (!row && r.value("mode", std::string()) == "decode"))
      row = &r;
  WISESR_CHECK(row != nullptr, "bench file '", path, "' has no 'decode' row");
  in.decode_per_core = measured(number(*row, path, "img_per_s_per_core"),
                                path + " (bench data, " + row->value("mode", std::string()) + " row, " +
                                    j.value("decode", std::string("?")) + ")");
}

// Compute figures without a bench train file, and activations without a measured peak.
void assume_compute(PlanInputs& in) {
  if (in.bench_batch == 0) {
    in.bench_batch = in.micro_batch_max;
    const double ms = 3 * in.model.gflops * 1e9 * in.bench_batch / (kTflops * 1e12) * 1e3;
    const std::string how = "3 x " + fmt("%.2f", in.model.gflops) + " GFLOPs x " +
                            std::to_string(in.bench_batch) + " images at " + fmt("%g", kTflops) +
                            " TFLOPS effective (no bench train file)";
    in.step_ms = assumed(ms, how);
    in.backward_ms = assumed(kBackwardFraction * ms, "60% of the step");
    in.optimizer_ms = assumed(0, "0");
    in.forward_ms = assumed((1 - kBackwardFraction) * ms, "40% of the step");
  }
  if (in.activation_bytes.value <= 0 && in.activation_bytes.source != Source::kMeasured) {
    const double scale = static_cast<double>(in.image_size * in.image_size) / (224.0 * 224.0);
    const double gflops_224 = in.model.gflops / scale;
    const double mb =
        assumed_activation_mb_224(in.backbone, gflops_224) * scale * (in.precision == "fp32" ? 2 : 1);
    in.activation_bytes = assumed(mb * kMB, "per image at 224 px for " + in.backbone + " x (size / 224)^2" +
                                                (in.precision == "fp32" ? " x 2 (fp32)" : ""));
  }
}

}  // namespace

std::string describe(const Figure& f) {
  switch (f.source) {
    case Source::kMeasured:
      return "measured: " + f.from;
    case Source::kManifest:
      return "manifest: " + f.from;
    case Source::kGiven:
      return "given: " + f.from;
    case Source::kAssumed:
      break;
  }
  return "assumed: " + f.from;
}

std::vector<int64_t> model_buckets(int64_t total_bytes, int64_t first, int64_t rest) {
  std::vector<int64_t> out;
  int64_t left = total_bytes, size = first;
  while (left > 0) {
    out.push_back(std::min(size, left));
    left -= out.back();
    size = rest;
  }
  return out;
}

double exposed_comm_ms(int64_t grad_bytes, double backward_ms, int gpus, double busbw_gbs, double latency_us,
                       int64_t first_bucket, int64_t bucket) {
  if (gpus <= 1 || grad_bytes <= 0) return 0.0;
  double done_ms = 0;
  int64_t produced = 0;
  for (const int64_t b : model_buckets(grad_bytes, first_bucket, bucket)) {
    produced += b;
    const double ready_ms = backward_ms * static_cast<double>(produced) / static_cast<double>(grad_bytes);
    const double cost_ms =
        2.0 * (gpus - 1) / gpus * static_cast<double>(b) / (busbw_gbs * 1e9) * 1e3 + latency_us * 1e-3;
    done_ms = std::max(done_ms, ready_ms) + cost_ms;
  }
  return std::max(0.0, done_ms - backward_ms);
}

std::vector<int> parse_gpu_counts(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const std::string t = trim(item);
    const bool digits = !t.empty() && t.size() <= 7 && std::all_of(t.begin(), t.end(), ::isdigit);
    WISESR_CHECK(digits && std::stoi(t) > 0, "--gpus: '", printable(t),
                 "' is not a GPU count (positive integers, comma-separated, e.g. 8,64,512)");
    out.push_back(std::stoi(t));
  }
  WISESR_CHECK(!out.empty(), "--gpus: no GPU count given (e.g. --gpus 8,64,512)");
  return out;
}

ModelFacts count_model(const config::PlanConfig& cfg, int64_t classes, int64_t image_size) {
  ModelFacts f;
  const auto s = models::summarize(cfg.train.model, classes, image_size);
  f.gflops = s.gflops;
  f.pool = s.pool;
  f.kernel = s.kernel;
  auto model = models::make_classifier(cfg.train.model, classes, image_size);
  for (const auto& p : model->parameters())
    if (p.requires_grad()) f.params += p.numel();
  for (const auto& b : model->buffers()) f.buffer_bytes += b.numel() * static_cast<int64_t>(b.element_size());
  return f;
}

PlanInputs resolve_inputs(const config::PlanConfig& cfg, const ModelFacts& facts) {
  PlanInputs in = base_inputs(cfg);
  in.model = facts;
  if (cfg.plan.activation_mb > 0)
    in.activation_bytes = plan_figure(cfg, "activation_mb", cfg.plan.activation_mb * kMB, {});
  bool have_train = false, have_data = false;
  std::string train_file, data_file;
  std::map<bool, std::string> comm_files;
  for (const auto& path : cfg.bench) {
    const json j = read_bench(path);
    WISESR_CHECK(j.is_object(), "bench file '", path, "' is not a JSON object");
    if (j.contains("step_ms")) {
      WISESR_CHECK(!have_train, "bench files '", train_file, "' and '", path,
                   "' are both bench train: give one");
      have_train = true;
      train_file = path;
      apply_train_bench(j, path, in);
    } else if (j.value("op", std::string()) == "all_reduce_sum_in_place") {
      apply_comm_bench(j, path, in, comm_files);
    } else if (j.contains("rows") && j.contains("out_size")) {
      WISESR_CHECK(!have_data, "bench files '", data_file, "' and '", path,
                   "' are both bench data: give one");
      have_data = true;
      data_file = path;
      apply_data_bench(j, path, in, cfg.train.runtime.device == train::DeviceKind::kCpu,
                       to_string(cfg.train.augment.augment));
    } else {
      WISESR_THROW("bench file '", path, "' is not the JSON of 'wisesr bench train|comm|data --json'");
    }
  }
  if (cfg.plan.activation_mb > 0)  // the config's figure over a measured one
    in.activation_bytes = plan_figure(cfg, "activation_mb", cfg.plan.activation_mb * kMB, {});
  assume_compute(in);
  return in;
}

PlanInputs resolve_inputs(const config::PlanConfig& cfg) {
  const PlanInputs base = base_inputs(cfg);
  return resolve_inputs(cfg, count_model(cfg, static_cast<int64_t>(base.classes.value), base.image_size));
}

namespace {

// The batch split of one row: per GPU = global / N in `accum` micro-batches of at most micro_batch_max.
void split_batch(const PlanInputs& in, PlanRow& r) {
  if (in.global_batch <= 0) {
    r.micro_batch = in.micro_batch_max;
    r.accum = in.accum_steps;
    r.per_gpu = r.micro_batch * r.accum;
    r.global_batch = r.per_gpu * r.gpus;
    return;
  }
  WISESR_CHECK(in.global_batch % r.gpus == 0, "[plan] global_batch ", in.global_batch,
               " is not a multiple of ", r.gpus, " GPUs (--gpus)");
  r.global_batch = in.global_batch;
  r.per_gpu = in.global_batch / r.gpus;
  r.accum = (r.per_gpu + in.micro_batch_max - 1) / in.micro_batch_max;
  while (r.per_gpu % r.accum != 0) ++r.accum;
  r.micro_batch = r.per_gpu / r.accum;
}

PlanRow plan_row(const PlanInputs& in, int gpus, double checkpoint_write_s) {
  PlanRow r;
  r.gpus = gpus;
  split_batch(in, r);
  const double scale = static_cast<double>(r.micro_batch) / in.bench_batch;
  const double opt = in.optimizer_ms.value;
  r.compute_ms = static_cast<double>(r.accum) * (in.step_ms.value - opt) * scale + opt;
  const bool multi = gpus > 1;
  const bool inter = gpus > static_cast<int>(in.gpus_per_node.value);
  const Figure& busbw = inter ? in.ib_busbw : in.nvlink_busbw;
  r.busbw = multi ? busbw.value : 0;
  r.exposed_ms = exposed_comm_ms(in.model.params * 4, in.backward_ms.value * scale, gpus, busbw.value,
                                 in.latency_us.value, in.first_bucket_bytes, in.bucket_bytes);
  r.step_ms = r.compute_ms + r.exposed_ms;
  r.efficiency = r.compute_ms / r.step_ms;
  r.img_per_s = static_cast<double>(r.global_batch) / r.step_ms * 1e3;
  r.steps_per_epoch = static_cast<int64_t>(in.train_images.value) / r.global_batch;
  r.steps = r.steps_per_epoch * in.epochs;
  if (in.max_steps > 0) r.steps = std::min(r.steps, in.max_steps);
  const int64_t epochs_run =
      r.steps_per_epoch > 0 ? (r.steps + r.steps_per_epoch - 1) / r.steps_per_epoch : 0;
  r.train_s = static_cast<double>(r.steps) * r.step_ms / 1e3;
  if (in.eval_each_epoch) {
    const double per_gpu = std::ceil(in.val_images.value / gpus);
    r.eval_s = static_cast<double>(epochs_run) * per_gpu * in.forward_ms.value / in.bench_batch / 1e3;
  }
  r.checkpoints = epochs_run + (in.checkpoint_every > 0 ? r.steps / in.checkpoint_every : 0);
  r.checkpoint_s = static_cast<double>(r.checkpoints) * checkpoint_write_s;
  r.wall_s = r.train_s + r.eval_s + r.checkpoint_s;
  r.gpu_hours = r.wall_s / 3600 * gpus;
  r.cost = r.gpu_hours * in.gpu_hour_cost.value;
  const double per_node = std::min<double>(gpus, in.gpus_per_node.value);
  r.decode_need = r.img_per_s / gpus * per_node;
  r.decode_have = in.decode_per_core.value * in.cores_per_node.value;
  r.static_bytes = static_bytes(in);
  r.activation_bytes = in.activation_bytes.value * static_cast<double>(r.micro_batch);
  r.memory_bytes = r.static_bytes + r.activation_bytes;
  // What each cell rests on (Note [Plan model]); a step scaled from the bench's batch is an assumption.
  const bool comm_assumed = multi && (busbw.assumed() || in.latency_us.assumed() || in.backward_ms.assumed());
  r.step_assumed =
      in.step_ms.assumed() || scale != 1.0 || (r.accum != 1 && in.optimizer_ms.assumed()) || comm_assumed;
  r.steps_assumed = in.train_images.assumed();
  r.wall_assumed = r.step_assumed || r.steps_assumed ||
                   (in.eval_each_epoch && (in.val_images.assumed() || in.forward_ms.assumed())) ||
                   (r.checkpoints > 0 && in.checkpoint_gbps.assumed());
  r.cost_assumed = r.wall_assumed || in.gpu_hour_cost.assumed();
  r.decode_assumed = r.step_assumed || in.decode_per_core.assumed() || in.cores_per_node.assumed() ||
                     (gpus > 1 && in.gpus_per_node.assumed());
  r.memory_assumed = in.activation_bytes.assumed();
  return r;
}

}  // namespace

Plan compute_plan(const PlanInputs& in, const std::vector<int>& gpus) {
  Plan p;
  p.in = in;
  const double params = static_cast<double>(in.model.params);
  p.checkpoint_bytes = params * 4 * 2 + static_cast<double>(in.model.buffer_bytes);
  p.checkpoint_write_s = p.checkpoint_bytes / (in.checkpoint_gbps.value * kGB);
  for (const int n : gpus) p.rows.push_back(plan_row(in, n, p.checkpoint_write_s));
  return p;
}

namespace {

const char* star(bool assumed) { return assumed ? "*" : ""; }

// The inputs in print order: label, value as printed, figure (also the JSON's "inputs").
std::vector<std::tuple<std::string, std::string, const Figure*>> input_list(const Plan& p) {
  const PlanInputs& in = p.in;
  const std::string at = " at batch " + std::to_string(in.bench_batch);
  return {
      {"classes", thousands(in.classes.value), &in.classes},
      {"train_images", thousands(in.train_images.value), &in.train_images},
      {"val_images", thousands(in.val_images.value), &in.val_images},
      {"image_bytes", human(in.image_bytes.value), &in.image_bytes},
      {"shard_bytes", human(in.shard_bytes.value), &in.shard_bytes},
      {"step_ms", fmt("%.2f ms", in.step_ms.value) + at, &in.step_ms},
      {"backward_ms", fmt("%.2f ms", in.backward_ms.value) + at, &in.backward_ms},
      {"forward_ms", fmt("%.2f ms", in.forward_ms.value) + at, &in.forward_ms},
      {"optimizer_ms", fmt("%.2f ms", in.optimizer_ms.value), &in.optimizer_ms},
      {"activation_mb", fmt("%.1f MB/image", in.activation_bytes.value / kMB), &in.activation_bytes},
      {"nvlink_busbw", fmt("%.4g GB/s", in.nvlink_busbw.value), &in.nvlink_busbw},
      {"ib_busbw", fmt("%.4g GB/s", in.ib_busbw.value), &in.ib_busbw},
      {"latency_us", fmt("%.4g us", in.latency_us.value), &in.latency_us},
      {"gpus_per_node", thousands(in.gpus_per_node.value), &in.gpus_per_node},
      {"decode_per_core", thousands(in.decode_per_core.value) + " img/s", &in.decode_per_core},
      {"cores_per_node", thousands(in.cores_per_node.value), &in.cores_per_node},
      {"gpu_hour_cost", fmt("%.2f USD", in.gpu_hour_cost.value), &in.gpu_hour_cost},
      {"checkpoint_gbps", fmt("%g GB/s", in.checkpoint_gbps.value), &in.checkpoint_gbps},
  };
}

std::string header(const Plan& p) {
  const PlanInputs& in = p.in;
  std::ostringstream os;
  os << "plan: " << in.config_file << "\n";
  os << "model       " << in.backbone << " + " << in.head;
  if (in.model.kernel > 0)
    os << " (pool " << in.model.pool << " -> kernel " << in.model.kernel << "x" << in.model.kernel << ")";
  os << ", " << in.image_size << " px, " << thousands(in.classes.value) << star(in.classes.assumed())
     << " classes, " << in.precision << ": " << thousands(static_cast<double>(in.model.params))
     << " parameters, " << fmt("%.2f", in.model.gflops) << " GFLOPs/image\n";
  os << "run         " << in.epochs << " epochs of " << thousands(in.train_images.value)
     << star(in.train_images.assumed()) << " images";
  if (in.max_steps > 0) os << " (at most " << thousands(static_cast<double>(in.max_steps)) << " steps)";
  if (in.eval_each_epoch)
    os << ", evaluating " << thousands(in.val_images.value) << star(in.val_images.assumed()) << " after each";
  if (in.global_batch > 0) {
    os << "; global batch " << thousands(static_cast<double>(in.global_batch))
       << " at every GPU count, micro-batches of at most " << in.micro_batch_max;
  } else {
    os << "; " << in.micro_batch_max << " x " << in.accum_steps
       << " images per GPU (global batch grows with GPUs)";
  }
  os << "\nshards      " << human(in.shard_bytes.value) << star(in.shard_bytes.assumed()) << " on disk ("
     << human(in.image_bytes.value) << star(in.image_bytes.assumed()) << " per image)\n";
  os << "checkpoint  " << human(p.checkpoint_bytes) << " (fp32 weights + buffers + momentum), "
     << fmt("%.2f s", p.checkpoint_write_s) << star(in.checkpoint_gbps.assumed()) << " per write at "
     << fmt("%g GB/s", in.checkpoint_gbps.value) << "; one per epoch end"
     << (in.checkpoint_every > 0 ? " and every " + std::to_string(in.checkpoint_every) + " steps" : "")
     << "\n";
  return os.str();
}

}  // namespace

std::string format_plan(const Plan& p) {
  std::ostringstream os;
  os << header(p) << "\n";
  os << "| GPUs | global batch | per GPU (micro x accum) | steps/epoch | steps | bus bw (GB/s) | step (ms) | "
        "exposed comm (ms) | efficiency | img/s | wall (h) | GPU-hours | cost (USD) | decode/node need / "
        "have "
        "(img/s) | memory/GPU (GiB) |\n";
  os << "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : p.rows) {
    const char* s = star(r.step_assumed);
    os << "| " << r.gpus << " | " << thousands(static_cast<double>(r.global_batch)) << " | " << r.micro_batch
       << " x " << r.accum << " | " << thousands(static_cast<double>(r.steps_per_epoch))
       << star(r.steps_assumed) << " | " << thousands(static_cast<double>(r.steps)) << star(r.steps_assumed)
       << " | " << (r.gpus > 1 ? fmt("%.4g", r.busbw) : "-") << " | "
       << (r.step_ms < 10 ? fmt("%.2f", r.step_ms) : thousands(r.step_ms, 1)) << s << " | "
       << fmt("%.2f", r.exposed_ms) << s << " | " << fmt("%.1f%%", 100 * r.efficiency) << s << " | "
       << thousands(r.img_per_s) << s << " | " << fmt(r.wall_s < 36 ? "%.3f" : "%.2f", r.wall_s / 3600)
       << star(r.wall_assumed) << " | " << amount(r.gpu_hours) << star(r.wall_assumed) << " | "
       << amount(r.cost) << star(r.cost_assumed) << " | " << thousands(r.decode_need) << " / "
       << thousands(r.decode_have) << star(r.decode_assumed) << " | "
       << fmt(r.memory_bytes < kGiB ? "%.2f" : "%.1f", r.memory_bytes / kGiB) << star(r.memory_assumed)
       << " |\n";
  }
  os << "\n* rests on an assumed figure (below). Step = compute + exposed all-reduce (docs/scaling.md); wall "
        "= "
        "steps + evaluation + checkpoint writes.\n\nfigures\n";
  for (const auto& [label, value, f] : input_list(p)) {
    char line[96];
    std::snprintf(line, sizeof(line), "  %-16s %-24s ", label.c_str(), value.c_str());
    os << line << describe(*f) << "\n";
  }
  return os.str();
}

std::string plan_json(const Plan& p) {
  const PlanInputs& in = p.in;
  json inputs = json::object();
  static const char* kSources[] = {"measured", "manifest", "given", "assumed"};
  for (const auto& [label, value, f] : input_list(p))
    inputs[label] = {
        {"value", f->value}, {"source", kSources[static_cast<int>(f->source)]}, {"from", f->from}};
  json rows = json::array();
  for (const auto& r : p.rows) {
    json assumed = json::array();
    for (const auto& [name, flag] : std::vector<std::pair<const char*, bool>>{{"steps", r.steps_assumed},
                                                                              {"step_ms", r.step_assumed},
                                                                              {"wall_s", r.wall_assumed},
                                                                              {"cost", r.cost_assumed},
                                                                              {"decode", r.decode_assumed},
                                                                              {"memory", r.memory_assumed}})
      if (flag) assumed.push_back(name);
    rows.push_back({{"gpus", r.gpus},
                    {"global_batch", r.global_batch},
                    {"per_gpu", r.per_gpu},
                    {"micro_batch", r.micro_batch},
                    {"accum", r.accum},
                    {"steps_per_epoch", r.steps_per_epoch},
                    {"steps", r.steps},
                    {"busbw_gbps", r.busbw},
                    {"compute_ms", r.compute_ms},
                    {"exposed_ms", r.exposed_ms},
                    {"step_ms", r.step_ms},
                    {"efficiency", r.efficiency},
                    {"img_per_s", r.img_per_s},
                    {"train_s", r.train_s},
                    {"eval_s", r.eval_s},
                    {"checkpoints", r.checkpoints},
                    {"checkpoint_s", r.checkpoint_s},
                    {"wall_s", r.wall_s},
                    {"gpu_hours", r.gpu_hours},
                    {"cost_usd", r.cost},
                    {"decode_need_per_node", r.decode_need},
                    {"decode_have_per_node", r.decode_have},
                    {"static_bytes", r.static_bytes},
                    {"activation_bytes", r.activation_bytes},
                    {"memory_bytes", r.memory_bytes},
                    {"assumed", assumed}});
  }
  const json j = {{"config", in.config_file},
                  {"model",
                   {{"backbone", in.backbone},
                    {"head", in.head},
                    {"image_size", in.image_size},
                    {"precision", in.precision},
                    {"params", in.model.params},
                    {"buffer_bytes", in.model.buffer_bytes},
                    {"gflops", in.model.gflops},
                    {"pool", in.model.pool},
                    {"kernel", in.model.kernel}}},
                  {"run",
                   {{"epochs", in.epochs},
                    {"max_steps", in.max_steps},
                    {"global_batch", in.global_batch},
                    {"micro_batch_max", in.micro_batch_max},
                    {"accum_steps", in.accum_steps},
                    {"eval_each_epoch", in.eval_each_epoch},
                    {"checkpoint_every", in.checkpoint_every},
                    {"first_bucket_bytes", in.first_bucket_bytes},
                    {"bucket_bytes", in.bucket_bytes},
                    {"bench_batch", in.bench_batch}}},
                  {"inputs", inputs},
                  {"checkpoint", {{"bytes", p.checkpoint_bytes}, {"write_s", p.checkpoint_write_s}}},
                  {"rows", rows}};
  return j.dump(2) + "\n";
}

int run_plan(const config::PlanConfig& cfg) {
  const std::vector<int> gpus = parse_gpu_counts(cfg.gpus);  // before the (slow) model count
  const Plan p = compute_plan(resolve_inputs(cfg), gpus);
  std::cout << format_plan(p) << std::flush;
  if (!cfg.json.empty()) fs::write_file_atomic(cfg.json, plan_json(p));
  return 0;
}

}  // namespace wisesr::tools
