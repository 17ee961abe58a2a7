#pragma once
// fp16 dynamic loss scaling, as torch.cuda.amp.GradScaler: the loss is multiplied by the scale before
// backward; unscale() divides the gradients back, reports inf/nan (the step is then skipped), and grows
// the scale x2 after 2000 clean steps or shrinks it x0.5 after an overflow. In data-parallel training the
// gradients are all-reduced before unscale(), so every rank sees the same overflow and agrees.
// Disabled (every call a no-op) for fp32 and bf16.
//
// Usage: LossScaler s(device, precision == Precision::kFp16, 65536);  s.scale(loss).backward();
//        (all-reduce) if (s.unscale(optimizer.grads())) optimizer.step(lr);

#include <torch/torch.h>

#include <vector>

namespace wisesr::train {

class LossScaler {
 public:
  LossScaler(const torch::Device& device, bool enabled, double initial);
  bool enabled() const { return enabled_; }
  /// loss x scale (loss itself when disabled).
  torch::Tensor scale(const torch::Tensor& loss) const { return enabled_ ? loss * scale_ : loss; }
  /// The current scale (a host sync); 0 when disabled.
  double value() const { return enabled_ ? scale_.item<double>() : 0.0; }
  /// Restore a scale (from a checkpoint); ignored when disabled or v <= 0.
  void set(double v);
  /// Unscales the gradients in place and updates the scale; false when they hold inf/nan (skip the step).
  bool unscale(std::vector<torch::Tensor> grads);

 private:
  bool enabled_;
  torch::Tensor scale_, growth_, found_inf_;
};

}  // namespace wisesr::train
