#include "comm/grad_sync.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <limits>
#include <string>
#include <utility>

namespace wisesr::comm {
namespace {

constexpr size_t kNoBucket = std::numeric_limits<size_t>::max();

// Runs a callback after a parameter's AccumulateGrad node has added this backward's gradient to .grad.
class GradReadyHook final : public torch::autograd::FunctionPostHook {
 public:
  explicit GradReadyHook(std::function<void()> fn) : fn_(std::move(fn)) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list& /*inputs*/) override {
    fn_();
    return outputs;
  }

 private:
  std::function<void()> fn_;
};

}  // namespace

GradSync::GradSync(std::vector<torch::Tensor> params, Communicator& comm, GradSyncOptions options)
    : params_(std::move(params)),
      bucket_of_(params_.size(), kNoBucket),
      views_(params_.size()),
      comm_(comm),
      options_(options),
      owner_(std::this_thread::get_id()) {
  active_ = comm_.size() > 1 || options_.single_rank_collectives;
  torch::NoGradGuard no_grad;
  Bucket current;
  size_t current_bytes = 0;
  torch::ScalarType dtype = torch::kFloat;
  torch::Device device = torch::kCPU;
  auto flush = [&] {
    if (current.param_indices.empty()) return;
    int64_t numel = 0;
    for (size_t i : current.param_indices) numel += params_[i].numel();
    current.flat = torch::zeros({numel}, torch::TensorOptions().dtype(dtype).device(device));
    int64_t offset = 0;
    for (size_t i : current.param_indices) {
      auto& p = params_[i];
      // The gradient layout follows the parameter's (channels_last stays channels_last), as autograd expects.
      views_[i] = p.is_non_overlapping_and_dense()
                      ? current.flat.as_strided(p.sizes(), p.strides(), offset)
                      : current.flat.narrow(0, offset, p.numel()).view(p.sizes());
      if (p.grad().defined()) views_[i].copy_(p.grad());
      p.mutable_grad() = views_[i];
      bucket_of_[i] = buckets_.size();
      offset += p.numel();
    }
    current.pending = current.param_indices.size();
    buckets_.push_back(std::move(current));
    current = Bucket{};
    current_bytes = 0;
  };
  for (size_t k = params_.size(); k-- > 0;) {
    const torch::Tensor& p = params_[k];
    if (!p.requires_grad()) continue;
    const size_t bytes = static_cast<size_t>(p.numel()) * p.element_size();
    const size_t limit = buckets_.empty() ? options_.first_bucket_bytes : options_.bucket_bytes;
    const bool incompatible =
        !current.param_indices.empty() && (p.scalar_type() != dtype || p.device() != device);
    if (incompatible || (!current.param_indices.empty() && current_bytes + bytes > limit)) flush();
    dtype = p.scalar_type();
    device = p.device();
    current.param_indices.push_back(k);
    current_bytes += bytes;
  }
  flush();

  if (options_.overlap && active_) {
    for (size_t i = 0; i < params_.size(); ++i) {
      if (bucket_of_[i] == kNoBucket) continue;
      auto acc = torch::autograd::impl::grad_accumulator(params_[i]);
      if (!acc) continue;  // not a leaf: synchronize() handles it
      const uintptr_t key =
          acc->add_post_hook(std::make_unique<GradReadyHook>([this, i] { on_grad_ready(i); }));
      hooks_.emplace_back(std::move(acc),
                          key);  // the variable only holds a weak reference to its accumulator
    }
  }
}

GradSync::~GradSync() {
  for (auto& [acc, key] : hooks_) acc->del_post_hook(key);
  for (auto& b : buckets_) {
    if (b.work) {
      try {
        b.work->wait();
      } catch (...) {  // destructors never throw; the error surfaced (or will) elsewhere
      }
    }
  }
}

std::vector<size_t> GradSync::bucket_bytes() const {
  std::vector<size_t> out;
  for (const auto& b : buckets_) out.push_back(static_cast<size_t>(b.flat.numel()) * b.flat.element_size());
  return out;
}

void GradSync::reattach_grad(size_t i) {
  auto& p = params_[i];
  const auto& g = p.grad();
  if (g.defined() && g.data_ptr() == views_[i].data_ptr()) return;
  // Someone replaced or dropped the gradient (e.g. zero_grad with set_to_none): bring it back into the
  // bucket.
  torch::NoGradGuard no_grad;
  if (g.defined()) {
    views_[i].copy_(g);
  } else {
    views_[i].zero_();
  }
  p.mutable_grad() = views_[i];
}

void GradSync::on_grad_ready(size_t i) {
  if (!sync_enabled_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  reattach_grad(i);
  Bucket& b = buckets_[bucket_of_[i]];
  if (b.pending > 0) --b.pending;
  if (b.pending == 0) launch_ready_prefix();
}

// Called from a hook: launch complete buckets in order, unless this thread may not call the backend.
void GradSync::launch_ready_prefix() {
  if (!comm_.any_thread() && std::this_thread::get_id() != owner_) return;  // synchronize() will
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0 &&
         !buckets_[next_launch_].work) {
    launch(next_launch_);
    ++next_launch_;
  }
}

void GradSync::launch(size_t bucket) {
  Bucket& b = buckets_[bucket];
  if (options_.check_collectives) {
    trace_.record(bucket,
                  static_cast<uint64_t>(b.flat.numel()) * static_cast<uint64_t>(b.flat.element_size()));
    // Launches on the thread that owns MPI are checked before they are issued: MPI progresses a
    // mismatched all-reduce inside the next MPI call (an error, or memory overwritten), long before
    // synchronize() could compare (see the protocol, step 6).
    if (!comm_.any_thread()) verify_trace();
  }
  b.work = comm_.all_reduce_async(b.flat, ReduceOp::kSum);
}

void GradSync::verify_trace() {
  trace_.verify(options_.check_comm ? *options_.check_comm : comm_,
                "gradient synchronisation #" + std::to_string(syncs_ + 1));
}

void GradSync::synchronize() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!active_) return;  // one rank: the gradients are already the average
  torch::NoGradGuard no_grad;
  launched_early_ = next_launch_;
  for (size_t i = 0; i < params_.size(); ++i)
    if (bucket_of_[i] != kNoBucket && bucket_of_[i] >= next_launch_) reattach_grad(i);
  for (; next_launch_ < buckets_.size(); ++next_launch_) launch(next_launch_);
  if (options_.check_collectives) {
    // The whole step, before waiting (mismatched collectives may never complete; the comparison does).
    // The next step starts with an empty trace, also when this one throws.
    struct ClearAfter {
      LaunchTrace& trace;
      ~ClearAfter() { trace.clear(); }
    } clear_after{trace_};
    verify_trace();
  }
  ++syncs_;
  const double scale = 1.0 / comm_.size();
  for (auto& b : buckets_) {
    if (b.work) {
      b.work->wait();
      b.work.reset();
    }
    b.flat.mul_(scale);
  }
  for (auto& b : buckets_) b.pending = b.param_indices.size();
  next_launch_ = 0;
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
