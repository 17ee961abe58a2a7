#include "comm/grad_sync.h"

namespace wisesr::comm {

GradSync::GradSync(std::vector<torch::Tensor> params, Communicator& comm, size_t bucket_bytes)
    : params_(std::move(params)), comm_(comm) {
  Bucket current;
  size_t current_bytes = 0;
  torch::ScalarType dtype = torch::kFloat;
  torch::Device device = torch::kCPU;
  auto flush = [&] {
    if (current.param_indices.empty()) return;
    int64_t numel = 0;
    for (size_t i : current.param_indices) numel += params_[i].numel();
    current.flat = torch::zeros({numel}, torch::TensorOptions().dtype(dtype).device(device));
    buckets_.push_back(std::move(current));
    current = Bucket{};
    current_bytes = 0;
  };
  for (size_t k = params_.size(); k-- > 0;) {
    const torch::Tensor& p = params_[k];
    if (!p.requires_grad()) continue;
    const size_t bytes = static_cast<size_t>(p.numel()) * p.element_size();
    const bool incompatible =
        !current.param_indices.empty() && (p.scalar_type() != dtype || p.device() != device);
    if (incompatible || (!current.param_indices.empty() && current_bytes + bytes > bucket_bytes)) flush();
    dtype = p.scalar_type();
    device = p.device();
    current.param_indices.push_back(k);
    current_bytes += bytes;
  }
  flush();
}

void GradSync::synchronize() {
  torch::NoGradGuard no_grad;
  const double scale = 1.0 / comm_.size();
  for (auto& b : buckets_) {
    int64_t offset = 0;
    for (size_t i : b.param_indices) {
      const auto& p = params_[i];
      auto view = b.flat.narrow(0, offset, p.numel());
      if (p.grad().defined()) {
        view.copy_(p.grad().reshape({-1}));
      } else {
        view.zero_();
      }
      offset += p.numel();
    }
    if (comm_.size() > 1) {
      comm_.all_reduce(b.flat, ReduceOp::kSum);
      b.flat.mul_(scale);
    }
    offset = 0;
    for (size_t i : b.param_indices) {
      auto& p = params_[i];
      auto view = b.flat.narrow(0, offset, p.numel()).view(p.sizes());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(view);
      } else {
        p.mutable_grad() = view.clone();
      }
      offset += p.numel();
    }
  }
}

void broadcast_module(torch::nn::Module& module, Communicator& comm, int root) {
  if (comm.size() == 1) return;
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) comm.broadcast(p, root);
  broadcast_buffers(module, comm, root);
}

void broadcast_buffers(torch::nn::Module& module, Communicator& comm, int root) {
  if (comm.size() == 1) return;
  torch::NoGradGuard no_grad;
  for (auto& b : module.buffers()) comm.broadcast(b, root);
}

}  // namespace wisesr::comm
