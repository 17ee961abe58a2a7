#include "comm/launch_trace.h"

#include <torch/torch.h>

#include "core/error.h"

namespace wisesr::comm {
namespace {

// splitmix64's finaliser over (state ^ word): order-sensitive, so a permutation changes the hash.
uint64_t combine(uint64_t h, uint64_t x) {
  h ^= x + 0x9e3779b97f4a7c15ULL;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

// 62 bits, so that -h fits in an int64 and MAX over (h, -h) yields the maximum and the minimum.
constexpr uint64_t kHashMask = (uint64_t{1} << 62) - 1;

std::string describe(const std::vector<LaunchTrace::Launch>& seq, size_t p) {
  if (p >= seq.size()) return "nothing (it launched " + std::to_string(seq.size()) + ")";
  return "bucket " + std::to_string(seq[p].bucket) + " (" + std::to_string(seq[p].bytes) + " bytes)";
}

}  // namespace

void LaunchTrace::record(uint64_t bucket, uint64_t bytes) {
  launches_.push_back({bucket, bytes});
  hash_ = combine(combine(hash_, bucket), bytes);
}

void LaunchTrace::clear() {
  launches_.clear();
  hash_ = 0;
}

void LaunchTrace::verify(Communicator& comm, const std::string& what) const {
  if (comm.size() == 1) return;
  const auto h = static_cast<int64_t>(hash_ & kHashMask);
  const auto n = static_cast<int64_t>(launches_.size());
  auto summary = torch::tensor({h, -h, n, -n}, torch::kInt64);
  comm.all_reduce(summary, ReduceOp::kMax);
  const auto s = summary.accessor<int64_t, 1>();
  if (s[0] == -s[1] && s[2] == -s[3]) return;

  // They differ: every rank learns every sequence (row r = rank r's length, then its (bucket, bytes)).
  const int world = comm.size();
  const int64_t longest = s[2];
  auto table = torch::zeros({world, 1 + 2 * longest}, torch::kInt64);
  {
    auto mine = table.accessor<int64_t, 2>()[comm.rank()];
    mine[0] = n;
    for (int64_t i = 0; i < n; ++i) {
      mine[1 + 2 * i] = static_cast<int64_t>(launches_[static_cast<size_t>(i)].bucket);
      mine[2 + 2 * i] = static_cast<int64_t>(launches_[static_cast<size_t>(i)].bytes);
    }
  }
  comm.all_reduce(table, ReduceOp::kSum);
  const auto t = table.accessor<int64_t, 2>();
  std::vector<std::vector<Launch>> seqs(static_cast<size_t>(world));
  for (int r = 0; r < world; ++r) {
    for (int64_t i = 0; i < t[r][0]; ++i)
      seqs[static_cast<size_t>(r)].push_back(
          {static_cast<uint64_t>(t[r][1 + 2 * i]), static_cast<uint64_t>(t[r][2 + 2 * i])});
  }
  for (size_t p = 0; p < static_cast<size_t>(longest); ++p) {
    for (size_t r = 1; r < seqs.size(); ++r) {
      const bool same = p < seqs[0].size() && p < seqs[r].size() ? seqs[0][p] == seqs[r][p]
                                                                 : p >= seqs[0].size() && p >= seqs[r].size();
      if (same) continue;
      WISESR_THROW(
          what, ": ranks launched different gradient all-reduces (--train.check_collectives): all-reduce #",
          p, " of the step was ", describe(seqs[0], p), " on rank 0 (expected) but ", describe(seqs[r], p),
          " on rank ", r, " (got)");
    }
  }
  // Unreachable (equal sequences hash equally), but a disagreement must never pass silently.
  WISESR_THROW(what, ": ranks disagree on their gradient all-reduces but the sequences compare equal");
}

}  // namespace wisesr::comm
