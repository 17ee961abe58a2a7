#pragma once
// The gradient collectives one rank launched during a step, and their comparison across ranks: the check
// behind --train.check_collectives (PyTorch's TORCH_DISTRIBUTED_DEBUG=DETAIL checks every collective's
// fingerprint the same way). Ranks that launch buckets in different orders, or different buckets, make the
// backend reduce unrelated buffers together: a silent divergence of the replicas, a crash or a hang, far
// from the cause. GradSync records each launch (an append on the host, under its lock) and calls verify()
// before each launch (MPI) or in synchronize() before it waits (see comm/grad_sync.h, step 6).
//
// Usage:
//   1. record(bucket, bytes) for every collective, in launch order;
//   2. verify(comm) on every rank (a collective itself): compares what was recorded so far, so ranks at
//      different points (one about to launch, one already at the end of the step) still disagree cleanly;
//   3. clear() before the next step.
// Cost of verify(): one all-reduce of 4 int64 on the host per step. Each rank contributes (h, -h, n, -n)
// under MAX, h being a hash of its sequence and n its length, which gives every rank the maximum and the
// minimum of both at once. Only when they differ are the sequences themselves exchanged (a SUM over a
// table in which each rank fills its own row), so that every rank throws the same message naming the
// first difference: the position, rank 0's launch there (expected) and the first other rank's (got).

#include <cstdint>
#include <string>
#include <vector>

#include "comm/communicator.h"

namespace wisesr::comm {

class LaunchTrace {
 public:
  struct Launch {
    uint64_t bucket = 0;
    uint64_t bytes = 0;
    bool operator==(const Launch& o) const { return bucket == o.bucket && bytes == o.bytes; }
  };

  /// Append a launched collective (bucket index in the rank's bucket order, payload bytes).
  void record(uint64_t bucket, uint64_t bytes);
  void clear();
  const std::vector<Launch>& launches() const { return launches_; }

  /// Collective over comm (host tensors; every rank must call it): throws wisesr::Error on every rank,
  /// with the same message, when any rank's sequence differs from rank 0's. `what` names the step in it.
  void verify(Communicator& comm, const std::string& what) const;

 private:
  std::vector<Launch> launches_;
  uint64_t hash_ = 0;
};

}  // namespace wisesr::comm
