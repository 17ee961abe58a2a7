#include "train/train_options.h"

#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "core/limits.h"
#include "wisesr/build_config.h"

namespace wisesr::train {

void RuntimeOptions::validate() const { check_thread_option("--train.threads", threads); }

void OptimizerOptions::validate() const {
  WISESR_CHECK(momentum >= 0.0 && momentum < 1.0, "--optim.momentum must be in [0, 1), got ", momentum);
  WISESR_CHECK(weight_decay >= 0.0, "--optim.weight_decay must be >= 0");
  WISESR_CHECK(lars_eta > 0.0, "--optim.lars_eta must be > 0");
  WISESR_CHECK(label_smoothing >= 0.0 && label_smoothing < 1.0, "--optim.label_smoothing must be in [0, 1)");
  WISESR_CHECK(clip_grad_norm >= 0.0, "--optim.clip_grad_norm must be >= 0");
}

void ScheduleOptions::validate() const {
  WISESR_CHECK(lr > 0.0, "--optim.lr must be > 0, got ", lr);
  WISESR_CHECK(lr_decay > 0.0 && lr_decay <= 1.0, "--optim.lr_decay must be in (0, 1], got ", lr_decay);
  WISESR_CHECK(lr_decay_epochs >= 1, "--optim.lr_decay_epochs must be >= 1");
  parse_milestones(milestones);
  WISESR_CHECK(min_lr >= 0.0 && min_lr <= lr, "--optim.min_lr must be in [0, lr]");
  WISESR_CHECK(ref_batch >= 0, "--optim.ref_batch must be >= 0");
  WISESR_CHECK(warmup_epochs >= 0.0, "--optim.warmup_epochs must be >= 0");
  WISESR_CHECK(warmup_from == -1.0 || (warmup_from >= 0.0 && warmup_from <= 1.0),
               "--optim.warmup_from must be -1 (automatic) or in [0, 1], got ", warmup_from);
}

void RunOptions::validate() const {
  WISESR_CHECK(epochs >= 1, "--train.epochs must be >= 1, got ", epochs);
  WISESR_CHECK(batch_size >= 1 && batch_size <= kMaxBatchSize, "--train.batch_size must be in [1, ",
               kMaxBatchSize, "] (per rank), got ", batch_size);
  WISESR_CHECK(accum_steps >= 1 && accum_steps <= kMaxAccumSteps, "--train.accum_steps must be in [1, ",
               kMaxAccumSteps, "], got ", accum_steps);
  WISESR_CHECK(max_steps >= 0, "--train.max_steps must be >= 0");
  WISESR_CHECK(log_every >= 1, "--train.log_every must be >= 1");
  WISESR_CHECK(resume != "auto" || !run_name.empty(),
               "--train.resume auto needs --train.run_name (the run directory to continue)");
  std::error_code ec;
  WISESR_CHECK(resume.empty() || resume == "auto" || !std::filesystem::is_directory(resume, ec),
               "--train.resume '", resume, "' is a directory, not a file (give a checkpoint file, e.g. '",
               (std::filesystem::path(resume) / "checkpoints" / "last.pt").string(),
               "', or 'auto' with --train.run_name)");
  WISESR_CHECK(keep_checkpoints >= 1, "--train.keep_checkpoints must be >= 1");
  WISESR_CHECK(checkpoint_every >= 0, "--train.checkpoint_every must be >= 0");
  WISESR_CHECK(timeout_s >= 0.0, "--train.timeout_s must be >= 0");
  WISESR_CHECK(startup_timeout_s >= 0.0, "--train.startup_timeout_s must be >= 0");
  WISESR_CHECK(preempt_exit_code >= 0 && preempt_exit_code <= 255,
               "--train.preempt_exit_code must be in [0, 255]");
  WISESR_CHECK(lock_stale_s >= 0.0, "--train.lock_stale_s must be >= 0");
  WISESR_CHECK(
      !tensorboard || WISESR_HAVE_TENSORBOARD,
      "--train.tensorboard: this wisesr was built without TensorBoard support (protobuf was not found "
      "when it was configured: install libprotobuf-dev and protobuf-compiler, then reconfigure)");
  parse_fault(fault);
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
  if (text.empty()) return f;
  const auto at = text.find('@'), colon = text.find(':');
  bool ok = at != std::string::npos && colon != std::string::npos && colon > at;
  if (ok) {
    const auto kind = from_string<FaultKind>(text.substr(0, at));
    char* end = nullptr;
    const std::string rank = text.substr(at + 1, colon - at - 1), step = text.substr(colon + 1);
    f.rank = static_cast<int>(std::strtol(rank.c_str(), &end, 10));
    ok = !rank.empty() && *end == '\0';
    f.step = std::strtoll(step.c_str(), &end, 10);
    ok = ok && !step.empty() && *end == '\0' && f.rank >= 0 && f.step >= 1 && kind &&
         *kind != FaultKind::kNone;
    f.kind = kind.value_or(FaultKind::kNone);
  }
  WISESR_CHECK(
      ok,
      "--train.fault must look like <throw|hang|kill|term>@<rank>:<step> or slowsave@<rank>:<seconds>, "
      "got '",
      text, "'");
  return f;
}

}  // namespace wisesr::train
