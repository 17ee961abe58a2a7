#include "train/loss_scaler.h"

namespace wisesr::train {

LossScaler::LossScaler(const torch::Device& device, bool enabled, double initial) : enabled_(enabled) {
  if (!enabled_) return;
  auto opts = torch::TensorOptions().device(device);
  scale_ = torch::full({1}, initial, opts.dtype(torch::kFloat));
  growth_ = torch::zeros({1}, opts.dtype(torch::kInt));
  found_inf_ = torch::zeros({1}, opts.dtype(torch::kFloat));
}

void LossScaler::set(double v) {
  if (enabled_ && v > 0) scale_.fill_(v);
}

bool LossScaler::unscale(std::vector<torch::Tensor> grads) {
  if (!enabled_) return true;
  found_inf_.zero_();
  at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf_, scale_.reciprocal());
  const bool ok = found_inf_.item<float>() == 0.0f;
  at::_amp_update_scale_(scale_, growth_, found_inf_, 2.0, 0.5, 2000);
  return ok;
}

}  // namespace wisesr::train
