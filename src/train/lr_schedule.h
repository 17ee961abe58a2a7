#pragma once
// Learning-rate schedules, evaluated per optimizer step at the fractional epoch t = epoch +
// (samples consumed in this epoch) / (samples per epoch). Because t counts samples, not steps, the
// rate at a point of training does not depend on the world size or the batch size (a resume on a
// different world size continues the same curve).
//
//   peak(global_batch) = lr * global_batch / ref_batch   (linear scaling rule; lr when ref_batch = 0)
//   lr(t)              = peak * warmup(t) * decay(t)
//   warmup(t)          = from + (1 - from) * t / warmup_epochs for t < warmup_epochs, else 1
//   decay(t): staircase  lr_decay ^ floor(t / lr_decay_epochs)       (the paper's Keras staircase)
//             step       lr_decay ^ (number of milestones <= t)
//             cosine     (min + (peak - min) * (1 + cos(pi * u)) / 2) / peak, u = (t - warmup) / (epochs -
//             warmup) constant   1

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "train/train_options.h"

namespace wisesr::train {

/// The paper's schedule: lr0 * decay^floor(epoch / every) (Keras staircase exponential decay).
inline double staircase_lr(double lr0, double decay, int every_epochs, int64_t epoch) {
  return lr0 * std::pow(decay, static_cast<double>(epoch / every_epochs));
}

/// Usage: LrSchedule s(options, global_batch, epochs);  lr = s.at(epoch + samples_done / samples_per_epoch);
class LrSchedule {
 public:
  LrSchedule(const ScheduleOptions& o, int64_t global_batch, double total_epochs)
      : kind_(o.schedule),
        decay_(o.lr_decay),
        decay_epochs_(o.lr_decay_epochs),
        milestones_(parse_milestones(o.milestones)),
        min_lr_(o.min_lr),
        total_epochs_(total_epochs),
        warmup_epochs_(o.warmup_epochs) {
    const double scale = o.ref_batch > 0 ? static_cast<double>(global_batch) / o.ref_batch : 1.0;
    peak_ = o.lr * scale;
    warmup_from_ = o.warmup_from >= 0 ? o.warmup_from : (o.ref_batch > 0 ? std::min(1.0, 1.0 / scale) : 0.0);
  }

  /// The peak learning rate after linear scaling.
  double peak() const { return peak_; }

  /// The learning rate at fractional epoch t >= 0.
  double at(double t) const {
    double w = 1.0;
    if (t < warmup_epochs_) w = warmup_from_ + (1.0 - warmup_from_) * t / warmup_epochs_;
    double d = 1.0;
    if (kind_ == Schedule::kStaircase) {
      // Constant within an epoch; the epsilon keeps t = 2.0 (computed as 1 + 1.0) from landing just below it.
      d = staircase_lr(1.0, decay_, decay_epochs_, static_cast<int64_t>(std::floor(t + 1e-9)));
    } else if (kind_ == Schedule::kStep) {
      int passed = 0;
      for (double m : milestones_) passed += t + 1e-9 >= m ? 1 : 0;
      d = std::pow(decay_, passed);
    } else if (kind_ == Schedule::kCosine) {
      const double span = total_epochs_ - warmup_epochs_;
      const double u = span > 0 ? std::clamp((t - warmup_epochs_) / span, 0.0, 1.0) : 1.0;
      const double lr = min_lr_ + (peak_ - min_lr_) * 0.5 * (1.0 + std::cos(M_PI * u));
      d = peak_ > 0 ? lr / peak_ : 0.0;
    }
    return peak_ * w * d;
  }

 private:
  Schedule kind_;
  double decay_;
  int decay_epochs_;
  std::vector<double> milestones_;
  double min_lr_;
  double total_epochs_;
  double warmup_epochs_;
  double peak_ = 0;
  double warmup_from_ = 0;
};

}  // namespace wisesr::train
