#include "config/config.h"

#include "core/error.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace wisesr::config {

void check_choice(const std::string& option, const std::string& value,
                  const std::vector<std::string>& choices) {
  if (std::find(choices.begin(), choices.end(), value) != choices.end()) return;
  std::string list;
  for (size_t i = 0; i < choices.size(); ++i) {
    list += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  }
  WISESR_THROW(option, " must be ", list, ", got '", value, "'");
}

void Config::validate() const {
  WISESR_CHECK(!data.dir.empty(), "--data.dir is required (a directory written by 'wisesr prep')");
  WISESR_CHECK(data.image_size >= 0, "--data.image_size must be >= 0, got ", data.image_size);
  WISESR_CHECK(data.workers >= 0, "--data.workers must be >= 0, got ", data.workers);
  WISESR_CHECK(data.max_bad_records >= 0, "--data.max_bad_records must be >= 0");
  WISESR_CHECK(data.prefetch >= 1, "--data.prefetch must be >= 1, got ", data.prefetch);
  check_choice("--data.verify", data.verify, {"full", "size"});
  check_choice("--data.augment", data.augment, kAugmentRecipes);
  check_choice("--data.normalize", data.normalize, kNormalizations);
  check_choice("--data.decode", data.decode, kDecodeModes);
  WISESR_CHECK(data.rotation >= 0 && data.rotation <= 360, "--data.rotation must be in [0, 360]");
  WISESR_CHECK(data.shift >= 0 && data.shift < 1, "--data.shift must be in [0, 1)");
  WISESR_CHECK(data.zoom >= 0 && data.zoom < 1, "--data.zoom must be in [0, 1)");
  WISESR_CHECK(data.channel_shift >= 0 && data.channel_shift <= 255,
               "--data.channel_shift must be in [0, 255]");
  WISESR_CHECK(data.brightness_min >= 0 && data.brightness_min <= data.brightness_max,
               "--data.brightness_min must be >= 0 and <= --data.brightness_max");
  WISESR_CHECK(data.crop_scale_min > 0 && data.crop_scale_min <= 1,
               "--data.crop_scale_min must be in (0, 1]");
  WISESR_CHECK(!model.head.empty() && !model.backbone.empty(),
               "--model.head and --model.backbone must be set");
  WISESR_CHECK(model.pool >= 0, "--model.pool must be >= 0, got ", model.pool);
  WISESR_CHECK(model.dropout == -1.0 || (model.dropout >= 0.0 && model.dropout < 1.0),
               "--model.dropout must be -1 (head default) or in [0, 1), got ", model.dropout);
  WISESR_CHECK(optim.lr > 0.0, "--optim.lr must be > 0, got ", optim.lr);
  WISESR_CHECK(optim.momentum >= 0.0 && optim.momentum < 1.0, "--optim.momentum must be in [0, 1), got ",
               optim.momentum);
  WISESR_CHECK(optim.weight_decay >= 0.0, "--optim.weight_decay must be >= 0");
  WISESR_CHECK(optim.lr_decay > 0.0 && optim.lr_decay <= 1.0, "--optim.lr_decay must be in (0, 1], got ",
               optim.lr_decay);
  WISESR_CHECK(optim.lr_decay_epochs >= 1, "--optim.lr_decay_epochs must be >= 1");
  WISESR_CHECK(train.epochs >= 1, "--train.epochs must be >= 1, got ", train.epochs);
  WISESR_CHECK(train.batch_size >= 1, "--train.batch_size must be >= 1, got ", train.batch_size);
  WISESR_CHECK(train.max_steps >= 0, "--train.max_steps must be >= 0");
  WISESR_CHECK(train.log_every >= 1, "--train.log_every must be >= 1");
  check_choice("--train.device", train.device, kDevices);
  check_choice("--train.backend", train.backend, {"auto", "mpi", "nccl"});
  WISESR_CHECK(train.threads >= 0, "--train.threads must be >= 0");
  check_choice("--optim.optimizer", optim.optimizer, {"sgd", "lars"});
  check_choice("--optim.schedule", optim.schedule, {"staircase", "step", "cosine", "constant"});
  parse_milestones(optim.milestones);
  WISESR_CHECK(optim.min_lr >= 0.0 && optim.min_lr <= optim.lr, "--optim.min_lr must be in [0, lr]");
  WISESR_CHECK(optim.ref_batch >= 0, "--optim.ref_batch must be >= 0");
  WISESR_CHECK(optim.warmup_epochs >= 0.0, "--optim.warmup_epochs must be >= 0");
  WISESR_CHECK(optim.warmup_from == -1.0 || (optim.warmup_from >= 0.0 && optim.warmup_from <= 1.0),
               "--optim.warmup_from must be -1 (automatic) or in [0, 1], got ", optim.warmup_from);
  WISESR_CHECK(optim.lars_eta > 0.0, "--optim.lars_eta must be > 0");
  WISESR_CHECK(optim.label_smoothing >= 0.0 && optim.label_smoothing < 1.0,
               "--optim.label_smoothing must be in [0, 1)");
  WISESR_CHECK(optim.clip_grad_norm >= 0.0, "--optim.clip_grad_norm must be >= 0");
  WISESR_CHECK(train.accum_steps >= 1, "--train.accum_steps must be >= 1, got ", train.accum_steps);
  check_choice("--train.precision", train.precision, kPrecisions);
  check_choice("--train.cuda_graph", train.cuda_graph, kCudaGraphModes);
  WISESR_CHECK(train.bucket_mb > 0.0 && train.first_bucket_mb > 0.0,
               "--train.bucket_mb and --train.first_bucket_mb must be > 0");
  WISESR_CHECK(train.resume != "auto" || !train.run_name.empty(),
               "--train.resume auto needs --train.run_name (the run directory to continue)");
  WISESR_CHECK(train.keep_checkpoints >= 1, "--train.keep_checkpoints must be >= 1");
  WISESR_CHECK(train.checkpoint_every >= 0, "--train.checkpoint_every must be >= 0");
  WISESR_CHECK(train.timeout_s >= 0.0, "--train.timeout_s must be >= 0");
  WISESR_CHECK(train.startup_timeout_s >= 0.0, "--train.startup_timeout_s must be >= 0");
  WISESR_CHECK(train.preempt_exit_code >= 0 && train.preempt_exit_code <= 255,
               "--train.preempt_exit_code must be in [0, 255]");
  check_choice("--train.progress", train.progress, {"auto", "bar", "lines"});
  WISESR_CHECK(train.lock_stale_s >= 0.0, "--train.lock_stale_s must be >= 0");
  if (!train.fault.empty()) parse_fault(train.fault);
}

std::vector<double> parse_milestones(const std::string& text) {
  std::vector<double> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(pos, end - pos);
    char* stop = nullptr;
    const double v = std::strtod(item.c_str(), &stop);
    WISESR_CHECK(!item.empty() && stop && *stop == '\0' && v > 0 && (out.empty() || v > out.back()),
                 "--optim.milestones must be increasing positive epochs separated by commas, got '", text,
                 "'");
    out.push_back(v);
    pos = end + 1;
  }
  return out;
}

Fault parse_fault(const std::string& text) {
  Fault f;
  const auto at = text.find('@'), colon = text.find(':');
  bool ok = at != std::string::npos && colon != std::string::npos && colon > at;
  if (ok) {
    f.kind = text.substr(0, at);
    char* end = nullptr;
    const std::string rank = text.substr(at + 1, colon - at - 1), step = text.substr(colon + 1);
    f.rank = static_cast<int>(std::strtol(rank.c_str(), &end, 10));
    ok = !rank.empty() && *end == '\0';
    f.step = std::strtoll(step.c_str(), &end, 10);
    ok = ok && !step.empty() && *end == '\0' && f.rank >= 0 && f.step >= 1 &&
         (f.kind == "throw" || f.kind == "hang" || f.kind == "kill" || f.kind == "term" || f.kind == "slowsave");
  }
  WISESR_CHECK(ok,
               "--train.fault must look like <throw|hang|kill|term>@<rank>:<step> or slowsave@<rank>:<seconds>, "
               "got '",
               text, "'");
  return f;
}

void SynthConfig::validate() const {
  WISESR_CHECK(classes >= 2 && classes <= 24, "--classes must be in [2, 24], got ", classes);
  WISESR_CHECK(per_class >= 1, "--per-class must be >= 1");
  WISESR_CHECK(size >= 32 && size <= 4096, "--size must be in [32, 4096], got ", size);
  check_choice("--format", format, {"jpeg", "png"});
  check_choice("--task", task, {"spatial", "texture"});
  WISESR_CHECK(task != "texture" || classes <= 8, "--task texture has 8 patterns: --classes must be <= 8");
}

void PrepConfig::validate() const {
  WISESR_CHECK(input.empty() != list.empty(), "give exactly one training source: --input DIR or --list FILE");
  WISESR_CHECK(val_input.empty() || val_list.empty(), "give at most one of --val-input and --val-list");
  check_choice("--resize", resize, {"squash", "center-crop", "short-side"});
  check_choice("--storage", storage, {"jpeg", "raw"});
  WISESR_CHECK(shard_records > 0 || shard_mb > 0, "--shard-mb must be > 0 (or set --shard-records)");
  WISESR_CHECK(size >= 8 && size <= 8192, "--size must be in [8, 8192], got ", size);
  WISESR_CHECK(val_fraction >= 0.0 && val_fraction < 1.0, "--val-fraction must be in [0, 1), got ",
               val_fraction);
  WISESR_CHECK(quality >= 1 && quality <= 100, "--quality must be in [1, 100], got ", quality);
  WISESR_CHECK(threads >= 0, "--threads must be >= 0");
}

void VerifyConfig::validate() const { WISESR_CHECK(threads >= 0, "--threads must be >= 0"); }

void ParamsConfig::validate() const {
  WISESR_CHECK(classes >= 1, "--classes must be >= 1, got ", classes);
  WISESR_CHECK(image_size >= 32 && image_size <= 8192, "--image-size must be in [32, 8192], got ",
               image_size);
  WISESR_CHECK(pool >= 0, "--pool must be >= 0");
}

void ExportConfig::validate() const {}

void EvalConfig::validate() const {
  WISESR_CHECK(batch_size >= 1, "--batch_size must be >= 1, got ", batch_size);
  check_choice("--device", device, kDevices);
  check_choice("--decode", decode, kDecodeModes);
  WISESR_CHECK(threads >= 0, "--threads must be >= 0");
}

void BenchTrainConfig::validate() const {
  WISESR_CHECK(image_size >= 32 && image_size <= 8192, "--image-size must be in [32, 8192], got ",
               image_size);
  WISESR_CHECK(batch >= 1, "--batch must be >= 1, got ", batch);
  WISESR_CHECK(classes >= 1, "--classes must be >= 1, got ", classes);
  WISESR_CHECK(pool >= 0, "--pool must be >= 0, got ", pool);
  WISESR_CHECK(steps >= 1, "--steps must be >= 1, got ", steps);
  WISESR_CHECK(warmup >= 0, "--warmup must be >= 0, got ", warmup);
  WISESR_CHECK(breakdown_steps >= 0, "--breakdown-steps must be >= 0, got ", breakdown_steps);
  check_choice("--precision", precision, kPrecisions);
  check_choice("--device", device, kDevices);
  check_choice("--sync", sync, {"none", "auto", "nccl", "mpi"});
  check_choice("--cuda-graph", cuda_graph, kCudaGraphModes);
  check_choice("--augment", augment, kAugmentRecipes);
  check_choice("--decode", decode, kDecodeModes);
  WISESR_CHECK(workers >= 0, "--workers must be >= 0, got ", workers);
  WISESR_CHECK(threads >= 0, "--threads must be >= 0");
}

void BenchDataConfig::validate() const {
  WISESR_CHECK(!data.empty(), "--data is required (a directory written by 'wisesr prep')");
  WISESR_CHECK(image_size >= 0, "--image-size must be >= 0, got ", image_size);
  WISESR_CHECK(batch >= 1, "--batch must be >= 1, got ", batch);
  WISESR_CHECK(batches >= 1, "--batches must be >= 1, got ", batches);
  WISESR_CHECK(warmup >= 0, "--warmup must be >= 0, got ", warmup);
  WISESR_CHECK(threads >= 0, "--threads must be >= 0, got ", threads);
  WISESR_CHECK(prefetch >= 1, "--prefetch must be >= 1, got ", prefetch);
  check_choice("--augment", augment, kAugmentRecipes);
  check_choice("--normalize", normalize, kNormalizations);
  check_choice("--device", device, {"cpu", "cuda"});
  check_choice("--decode", decode, kDecodeModes);
}

void BenchCommConfig::validate() const {
  parse_sizes(sizes);
  WISESR_CHECK(iters >= 1, "--iters must be >= 1, got ", iters);
  WISESR_CHECK(warmup >= 0, "--warmup must be >= 0, got ", warmup);
  check_choice("--backend", backend, {"auto", "nccl", "mpi"});
  check_choice("--dtype", dtype, {"float", "bf16"});
}

std::vector<int64_t> parse_sizes(const std::string& text) {
  std::vector<int64_t> out;
  size_t pos = 0;
  bool ok = !text.empty();
  while (ok && pos <= text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(pos, end - pos);
    const size_t suffix = item.empty() ? std::string::npos
                                       : std::string("KMG").find(static_cast<char>(
                                             std::toupper(static_cast<unsigned char>(item.back()))));
    const int64_t unit = suffix == std::string::npos ? 1 : int64_t{1} << (10 * (suffix + 1));
    if (suffix != std::string::npos) item.pop_back();
    char* stop = nullptr;
    const long long v = std::strtoll(item.c_str(), &stop, 10);
    ok = !item.empty() && stop && *stop == '\0' && v > 0 && v <= (int64_t{16} << 30) / unit;
    if (ok) out.push_back(static_cast<int64_t>(v) * unit);
    pos = end + 1;
  }
  WISESR_CHECK(
      ok, "--sizes must be positive byte counts (suffix K, M or G; at most 16G) separated by commas, got '",
      text, "'");
  return out;
}

}  // namespace wisesr::config
