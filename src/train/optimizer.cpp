#include "train/optimizer.h"

#include "core/error.h"
#include "core/strings.h"

namespace wisesr::train {

Optimizer::Optimizer(const std::vector<std::pair<std::string, torch::Tensor>>& named_params,
                     OptimizerOptions options)
    : opt_(std::move(options)) {
  torch::NoGradGuard no_grad;
  for (const auto& [name, p] : named_params) {
    if (!p.requires_grad()) continue;
    const size_t i = params_.size();
    names_.push_back(name);
    params_.push_back(p);
    buffers_.push_back(torch::zeros_like(p));
    Group& g = (opt_.wd_exclude_bn_bias && p.dim() <= 1) ? plain_ : decay_;
    g.index.push_back(i);
    g.params.push_back(p);
    g.buffers.push_back(buffers_.back());
  }
}

namespace {

std::vector<std::pair<std::string, torch::Tensor>> named_parameters_of(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& kv : module.named_parameters()) out.emplace_back(kv.key(), kv.value());
  return out;
}

}  // namespace

Optimizer::Optimizer(const torch::nn::Module& module, OptimizerOptions options)
    : Optimizer(named_parameters_of(module), std::move(options)) {}

std::vector<torch::Tensor> Optimizer::grads() const {
  std::vector<torch::Tensor> out;
  for (const auto& p : params_)
    if (p.grad().defined()) out.push_back(p.grad());
  return out;
}

std::vector<torch::Tensor> Optimizer::group_grads(const Group& g) const {
  std::vector<torch::Tensor> out;
  out.reserve(g.params.size());
  for (auto p : g.params) {
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    out.push_back(p.grad());
  }
  return out;
}

void Optimizer::update_buffers(Group& g, bool decay, bool lars) {
  if (g.params.empty()) return;
  auto gr = group_grads(g);
  const double wd = decay ? opt_.weight_decay : 0.0;
  if (lars) {
    auto pn = torch::stack(at::_foreach_norm(g.params));
    auto gn = torch::stack(at::_foreach_norm(gr));
    auto trust = torch::where((pn > 0) & (gn > 0), opt_.lars_eta * pn / (gn + wd * pn), torch::ones_like(pn));
    if (wd != 0.0) at::_foreach_add_(gr, g.params, wd);
    auto factors = trust.unbind(0);
    at::_foreach_mul_(gr, factors);
  } else if (wd != 0.0) {
    at::_foreach_add_(gr, g.params, wd);
  }
  at::_foreach_mul_(g.buffers, opt_.momentum);
  at::_foreach_add_(g.buffers, gr);
}

void Optimizer::step(double lr) {
  torch::NoGradGuard no_grad;
  update_buffers(decay_, /*decay=*/true, /*lars=*/opt_.optimizer == OptimizerKind::kLars);
  update_buffers(plain_, /*decay=*/false, /*lars=*/false);
  for (Group* g : {&decay_, &plain_})
    if (!g->params.empty()) at::_foreach_add_(g->params, g->buffers, -lr);
}

void Optimizer::step(const torch::Tensor& lr) {
  torch::NoGradGuard no_grad;
  update_buffers(decay_, /*decay=*/true, /*lars=*/opt_.optimizer == OptimizerKind::kLars);
  update_buffers(plain_, /*decay=*/false, /*lars=*/false);
  const auto neg_lr = lr.neg();
  for (Group* g : {&decay_, &plain_})
    if (!g->params.empty()) at::_foreach_add_(g->params, at::_foreach_mul(g->buffers, neg_lr));
}

void Optimizer::zero_grad() {
  torch::NoGradGuard no_grad;
  auto defined = grads();
  if (!defined.empty()) at::_foreach_zero_(defined);
}

void Optimizer::clear_grads() {
  for (auto& p : params_) p.mutable_grad().reset();
}

void Optimizer::scale_grads(const torch::Tensor& scale) {
  torch::NoGradGuard no_grad;
  auto defined = grads();
  if (!defined.empty()) at::_foreach_mul_(defined, scale);
}

torch::Tensor Optimizer::grad_norm() const {
  torch::NoGradGuard no_grad;
  const auto defined = grads();
  if (defined.empty()) return torch::zeros({});
  return torch::stack(at::_foreach_norm(defined)).to(torch::kFloat).norm();
}

void Optimizer::save(torch::serialize::OutputArchive& archive) const {
  archive.write("kind", c10::IValue(to_string(opt_.optimizer)));
  archive.write("names", c10::IValue(join(names_, "\n")));
  for (size_t i = 0; i < buffers_.size(); ++i)
    archive.write("momentum." + std::to_string(i), buffers_[i], true);
}

void Optimizer::load(torch::serialize::InputArchive& archive) {
  c10::IValue names;
  WISESR_CHECK(archive.try_read("names", names) && names.isString(), "no optimizer state");
  WISESR_CHECK(names.toStringRef() == join(names_, "\n"),
               "optimizer state was saved for other parameters (a different model?)");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < buffers_.size(); ++i) {
    torch::Tensor t;
    archive.read("momentum." + std::to_string(i), t, true);
    WISESR_CHECK(t.sizes() == buffers_[i].sizes(), "momentum buffer of '", names_[i], "' has shape ",
                 t.sizes(), ", expected ", buffers_[i].sizes());
    buffers_[i].copy_(t);
  }
}

}  // namespace wisesr::train
