#pragma once
// Gradient synchronisation across data-parallel replicas.
//
// Protocol (every rank must do exactly this, in this order, for the job not to hang or diverge):
//  1. Construction: parameters are grouped into flat buckets in *reverse registration order*
//     (the order autograd tends to produce gradients), a new bucket starting when the current one
//     would exceed bucket_bytes or the dtype/device changes. The grouping depends only on the model
//     definition, so it is identical on every rank.
//  2. synchronize(), called after backward() and before optimizer.step(): for each bucket in order,
//     copy the gradients into the bucket's flat buffer (a missing gradient counts as zeros, so every
//     rank issues the same collectives), all-reduce SUM, multiply by 1/world_size (averaging: the
//     result equals the gradient of the mean loss over the global batch when every rank's loss is
//     the mean over an equal-sized local batch), copy back into param.grad.
//  3. broadcast_parameters(): parameters and buffers from rank 0, at start and after a resume.
// BatchNorm running statistics stay local during an epoch (batch statistics are per rank, like
// PyTorch DDP without SyncBN); broadcast_buffers() makes them rank 0's before evaluation and checkpoints.
// Later work (issue 5) launches buckets from autograd hooks on a side stream to overlap backward;
// the bucket layout and the averaging rule stay as written here.

#include <torch/torch.h>

#include <cstddef>
#include <vector>

#include "comm/communicator.h"

namespace wisesr::comm {

class GradSync {
 public:
  static constexpr size_t kDefaultBucketBytes = 25u << 20;

  GradSync(std::vector<torch::Tensor> params, Communicator& comm, size_t bucket_bytes = kDefaultBucketBytes);

  /// All-reduce and average every parameter's gradient (see protocol, step 2).
  void synchronize();
  size_t num_buckets() const { return buckets_.size(); }

 private:
  struct Bucket {
    std::vector<size_t> param_indices;
    torch::Tensor flat;
  };
  std::vector<torch::Tensor> params_;
  std::vector<Bucket> buckets_;
  Communicator& comm_;
};

/// Broadcast every parameter and buffer of module from root (in registration order).
void broadcast_module(torch::nn::Module& module, Communicator& comm, int root = 0);
/// Broadcast only the buffers (BatchNorm running statistics) from root.
void broadcast_buffers(torch::nn::Module& module, Communicator& comm, int root = 0);

}  // namespace wisesr::comm
