#pragma once
// Classification metrics and the JSONL metrics log.
//
// Usage:
//   DeviceTally t;  t.add(logits, labels, per_sample_loss, valid);   // per batch, on the device, no sync
//   Tally window = t.take().reduced(comm);                          // per window: one sync, one collective
//   window.top1_acc(), window.mean_loss() ...

#include <torch/torch.h>

#include <array>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "core/fs.h"

namespace wisesr::train {

/// Running sums of a classification pass; reduced across ranks before anything is reported.
struct Tally {
  double loss_sum = 0;  // sum of per-sample losses
  double top1 = 0;      // correct predictions (top-1)
  double top5 = 0;      // label among the 5 highest logits (top-min(5, classes))
  double count = 0;

  /// Accumulate another tally (e.g. a reduced logging window into the epoch's).
  Tally& operator+=(const Tally& o) {
    loss_sum += o.loss_sum;
    top1 += o.top1;
    top5 += o.top5;
    count += o.count;
    return *this;
  }
  /// Sum this tally over all ranks (a collective: every rank must call it).
  Tally reduced(comm::Communicator& comm) const;
  double mean_loss() const { return count > 0 ? loss_sum / count : 0; }
  double top1_acc() const { return count > 0 ? top1 / count : 0; }
  double top5_acc() const { return count > 0 ? top5 / count : 0; }
};

/// A Tally kept on the model's device: add() queues a few kernels and never waits for the GPU, take()
/// copies the sums to the host once (per logging window, or per evaluation). The sums are one tensor,
/// allocated by the first add() and updated in place from then on, so add() may be captured in a CUDA
/// graph (train/train_step.h) and take() still sees what the replays added.
class DeviceTally {
 public:
  /// Count a batch; with `valid` (bool, per sample) only its true rows (skipped corrupt records are not
  /// counted).
  void add(const torch::Tensor& logits, const torch::Tensor& labels, const torch::Tensor& per_sample_loss,
           const torch::Tensor& valid = {});
  /// The sums so far (one host synchronisation) and a reset.
  Tally take();

 private:
  torch::Tensor sums_;  // float64 [loss_sum, top1, top5, count]
};

/// One class's row of a [true][predicted] confusion matrix: samples (the row sum) and top-1 hits (the
/// diagonal).
struct ClassTally {
  int64_t samples = 0;
  int64_t correct = 0;
  /// Top-1 accuracy; nullopt for a class with no samples.
  std::optional<double> top1() const {
    if (samples == 0) return std::nullopt;
    return static_cast<double>(correct) / static_cast<double>(samples);
  }
};

/// Per class, from the [true][predicted] counts (int64, classes x classes, on the CPU).
std::vector<ClassTally> class_tallies(const torch::Tensor& confusion);
/// CSV with a header: class_index,class,samples,top1_correct,top1 (top1 empty for a class without samples).
std::string per_class_csv(const std::vector<ClassTally>& tallies, const std::vector<std::string>& names);
/// JSON array of {class, samples, top1} (top1 null for a class without samples).
nlohmann::json per_class_json(const std::vector<ClassTally>& tallies, const std::vector<std::string>& names);
/// CSV of the matrix: rows true class, columns predicted class, cells samples; class names quoted as needed.
std::string confusion_csv(const torch::Tensor& confusion, const std::vector<std::string>& names);

/// Appends one JSON object per line and flushes it, so a killed run keeps every line written.
class JsonlWriter {
 public:
  explicit JsonlWriter(const std::filesystem::path& path);
  void write(const std::string& json_line);

 private:
  fs::AppendFile out_;
};

}  // namespace wisesr::train
