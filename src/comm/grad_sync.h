#pragma once
// Gradient synchronisation across data-parallel replicas.
//
// Protocol (every rank must do exactly this, in this order, for the job not to hang or diverge):
//  1. Construction: parameters that require gradients are grouped into flat buckets in *reverse
//     registration order* (the order backward produces gradients). The first bucket holds at most
//     first_bucket_bytes (so communication starts early), the others at most bucket_bytes; a dtype or
//     device change starts a new bucket. The grouping depends only on the model definition, so it is
//     identical on every rank. Each parameter's .grad becomes a view into its bucket (same strides as
//     the parameter), so backward accumulates straight into the buffer that is all-reduced: no copies.
//  2. Backward with sync enabled (set_sync(true), the default): a post-hook on each parameter's
//     gradient accumulator counts the bucket's ready gradients. When a bucket is complete, it and any
//     complete buckets after the last launched one are launched in bucket order (never out of order:
//     ranks may finish gradients in different orders, the collectives must not be) as asynchronous
//     all-reduce SUMs. NCCL launches on a communication stream right from autograd's thread, overlapping
//     the rest of backward; MPI launches MPI_Iallreduce when the hook runs on the thread that owns MPI
//     (CPU backward) and otherwise defers to step 3.
//  3. synchronize(), after backward and before the optimizer: launches the buckets not launched yet
//     (parameters without a gradient this step contribute zeros), in order; waits for all; multiplies
//     by 1/world_size. The result is the gradient of the mean loss over the global batch when every
//     rank's loss is the mean over an equal-sized local batch.
//  4. Gradient accumulation: set_sync(false) for the backward passes of all but the last micro-batch
//     (hooks do nothing, gradients keep accumulating in the buckets), set_sync(true) for the last, then
//     synchronize(). The optimizer must zero gradients in place (views stay views).
//  5. broadcast_module(): parameters and buffers from rank 0, at start and after a resume.
//  6. Checking the protocol (check_collectives, --train.check_collectives; off by default, on in the test
//     suite's training runs): every launch of steps 2 and 3 is recorded (bucket index, bytes), and the
//     sequences recorded so far are compared across ranks (comm/launch_trace.h: a host all-reduce of 4
//     int64 on check_comm) before each launch where launches happen on the thread that owns MPI (the MPI
//     backend: MPI would progress a mismatched all-reduce, and fail or overwrite memory, inside the next
//     MPI call), and for the whole step in synchronize() once the rest is launched and before it waits
//     (NCCL, whose launches only enqueue work on a stream). A difference (buckets in another order, a
//     bucket missing or extra on some rank) throws on every rank, naming the first all-reduce that
//     differs: its position, rank 0's bucket (expected) and the other rank's (got). Off, it costs nothing:
//     no recording, no collective; on, no device synchronisation either.
// BatchNorm running statistics stay local during an epoch (batch statistics are per rank, like
// PyTorch DDP without SyncBN); broadcast_buffers() makes them rank 0's before evaluation and checkpoints.

#include <torch/torch.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "comm/communicator.h"
#include "comm/launch_trace.h"

namespace torch::autograd {
struct Node;
}

namespace wisesr::comm {

struct GradSyncOptions {
  size_t bucket_bytes = 25u << 20;       // DDP's default
  size_t first_bucket_bytes = 1u << 20;  // DDP's default
  bool overlap = true;                   // launch from autograd hooks (false: everything in synchronize())
  bool single_rank_collectives = false;  // issue the all-reduces even with one rank (to measure their cost)
  bool check_collectives = false;        // compare every rank's launch sequence in synchronize() (step 6)
  /// Host communicator over the same ranks for that check (the trainer's MPI control channel); null =
  /// the gradient communicator (with NCCL that stages the few bytes through the GPU).
  Communicator* check_comm = nullptr;
};

class GradSync {
 public:
  static constexpr size_t kDefaultBucketBytes = 25u << 20;

  GradSync(std::vector<torch::Tensor> params, Communicator& comm, GradSyncOptions options = {});
  ~GradSync();
  GradSync(const GradSync&) = delete;
  GradSync& operator=(const GradSync&) = delete;

  /// Whether the next backward launches all-reduces (false while accumulating micro-batches).
  void set_sync(bool enabled) { sync_enabled_ = enabled; }
  /// Finish the all-reduce of every bucket and average (see protocol, step 3).
  void synchronize();

  size_t num_buckets() const { return buckets_.size(); }
  /// Whether backward issues collectives: world size > 1, or single_rank_collectives.
  bool active() const { return active_; }
  /// The communicator the gradients are all-reduced with.
  Communicator& communicator() const { return comm_; }
  /// Bytes of each bucket, in launch order (for logs and tests).
  std::vector<size_t> bucket_bytes() const;
  /// Buckets launched from hooks during the last synchronised backward (overlap diagnostics and tests).
  size_t launched_early() const { return launched_early_; }

 private:
  struct Bucket {
    std::vector<size_t> param_indices;
    torch::Tensor flat;
    size_t pending = 0;  // gradients not yet accumulated this step
    std::unique_ptr<Work> work;
  };
  void on_grad_ready(size_t param_index);
  void launch_ready_prefix();
  void launch(size_t bucket);
  void verify_trace();  // check_collectives: compare the launches so far across ranks (throws)
  void reattach_grad(size_t param_index);

  std::vector<torch::Tensor> params_;
  std::vector<size_t> bucket_of_;  // param index -> bucket (or npos)
  std::vector<torch::Tensor> views_;
  std::vector<Bucket> buckets_;
  Communicator& comm_;
  bool active_ = false;  // world > 1, or single_rank_collectives
  GradSyncOptions options_;
  std::thread::id owner_;
  std::mutex mutex_;
  size_t next_launch_ = 0;
  size_t launched_early_ = 0;
  LaunchTrace trace_;   // this step's launches (check_collectives)
  uint64_t syncs_ = 0;  // synchronize() calls, for the check's message
  std::atomic<bool> sync_enabled_{true};
  std::vector<std::pair<std::shared_ptr<torch::autograd::Node>, uintptr_t>> hooks_;
};

/// Broadcast every parameter and buffer of module from root (in registration order).
void broadcast_module(torch::nn::Module& module, Communicator& comm, int root = 0);
/// Broadcast only the buffers (BatchNorm running statistics) from root.
void broadcast_buffers(torch::nn::Module& module, Communicator& comm, int root = 0);

}  // namespace wisesr::comm
