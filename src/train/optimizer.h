#pragma once
// SGD with momentum and LARS, updating all parameters with multi-tensor (foreach) kernels: a handful of
// kernel launches per step instead of several per tensor, and no host synchronisation.
//
// Parameters fall into two groups. "decay" tensors (weights: >= 2-D) get weight decay and, with LARS,
// the layer-wise trust ratio; "plain" tensors (biases, BatchNorm scale/shift: 1-D) get neither when
// --optim.wd_exclude_bn_bias is set (Goyal et al.; You et al.), otherwise they are treated like weights.
//
// SGD (PyTorch semantics, dampening 0, so momentum buffers equal torch.optim.SGD's):
//     g = grad + wd * p;  buf = momentum * buf + g;  p -= lr * buf
// LARS on decay tensors (trust ratio per tensor; 1 where a norm is zero):
//     g = (grad + wd * p) * eta * |p| / (|grad| + wd * |p|);  buf = momentum * buf + g;  p -= lr * buf
// Gradients are modified in place (they are consumed by the step); zero_grad() zeroes them in place
// so gradient tensors that are views into all-reduce buckets stay views; clear_grads() drops them where
// no bucket or graph holds them. A parameter without a gradient at step() is updated as with a zero one
// (its momentum decays), as before either way.

#include <torch/torch.h>

#include <string>
#include <vector>

#include "train/train_options.h"

namespace wisesr::train {

/// Usage: Optimizer opt(model, options);  then per step: opt.zero_grad(); backward; opt.step(lr);
/// (OptimizerOptions: --optim.*, train/train_options.h; label_smoothing and clip_grad_norm there are the
/// training step's, train/train_step.h.)
class Optimizer {
 public:
  Optimizer(const std::vector<std::pair<std::string, torch::Tensor>>& named_params, OptimizerOptions options);
  /// Every parameter of module (named as in its state_dict).
  Optimizer(const torch::nn::Module& module, OptimizerOptions options);

  /// One update with learning rate lr from the current .grad of every parameter.
  void step(double lr);
  /// The same with the rate in a 0-d float tensor on the parameters' device, read by the kernels
  /// (a CUDA graph replays it with whatever the tensor holds). p -= (lr * buf) instead of p += -lr * buf:
  /// equal up to rounding, so a run uses one form throughout (train/train_step.h).
  void step(const torch::Tensor& lr);
  /// Zero every gradient in place (gradients are kept allocated: all-reduce bucket views, CUDA graphs).
  void zero_grad();
  /// Drop every gradient (PyTorch's zero_grad(set_to_none=True)): the next backward assigns the fresh
  /// gradients instead of adding them to zeros, which saves a zeroing pass and an add pass over all
  /// parameters. For steps whose gradients nobody holds on to.
  void clear_grads();
  /// Multiply every gradient by scale (a 0-d tensor on the parameters' device: no host sync).
  void scale_grads(const torch::Tensor& scale);
  /// L2 norm of all gradients together (a 0-d tensor).
  torch::Tensor grad_norm() const;
  /// The gradients that exist, in parameter order (e.g. for loss-scale unscaling).
  std::vector<torch::Tensor> grads() const;

  void save(torch::serialize::OutputArchive& archive) const;
  /// Restores the momentum buffers; throws naming the mismatch if they do not fit these parameters.
  void load(torch::serialize::InputArchive& archive);
  /// Momentum buffers in parameter order (for broadcasting after a resume).
  std::vector<torch::Tensor>& momentum_buffers() { return buffers_; }

  size_t num_decay() const { return decay_.params.size(); }
  size_t num_plain() const { return plain_.params.size(); }

 private:
  struct Group {
    std::vector<size_t> index;  // into params_
    std::vector<torch::Tensor> params, buffers;
  };
  std::vector<torch::Tensor> group_grads(const Group& g) const;
  void update_buffers(Group& g, bool decay, bool lars);  // gradient transforms + momentum

  OptimizerOptions opt_;
  std::vector<std::string> names_;
  std::vector<torch::Tensor> params_, buffers_;
  Group decay_, plain_;
};

}  // namespace wisesr::train
