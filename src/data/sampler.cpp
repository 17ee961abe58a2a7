#include "data/sampler.h"

#include <numeric>
#include <utility>

#include "core/error.h"

namespace wisesr::data {

uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::vector<uint64_t> epoch_permutation(uint64_t n, uint64_t seed, uint64_t epoch) {
  std::vector<uint64_t> perm(n);
  std::iota(perm.begin(), perm.end(), uint64_t{0});
  uint64_t state = mix64(seed ^ mix64(epoch + 0x5151));
  for (uint64_t i = n; i > 1; --i) {  // Fisher-Yates
    state = mix64(state);
    uint64_t j = state % i;
    std::swap(perm[i - 1], perm[j]);
  }
  return perm;
}

uint64_t train_steps(uint64_t n, int world, uint64_t batch, uint64_t start) {
  WISESR_CHECK(world >= 1 && batch >= 1, "bad world ", world, " or batch ", batch);
  const uint64_t global = batch * static_cast<uint64_t>(world);
  return start >= n ? 0 : (n - start) / global;
}

std::vector<uint64_t> train_indices(uint64_t n, uint64_t seed, uint64_t epoch, int rank, int world,
                                    uint64_t batch, uint64_t start) {
  WISESR_CHECK(world >= 1 && rank >= 0 && rank < world, "bad rank ", rank, " of ", world);
  const uint64_t steps = train_steps(n, world, batch, start);
  const auto perm = epoch_permutation(n, seed, epoch);
  const uint64_t global = batch * static_cast<uint64_t>(world);
  std::vector<uint64_t> out;
  out.reserve(steps * batch);
  for (uint64_t s = 0; s < steps; ++s) {
    const auto first = perm.begin() + static_cast<std::ptrdiff_t>(start + s * global + batch * rank);
    out.insert(out.end(), first, first + static_cast<std::ptrdiff_t>(batch));
  }
  return out;
}

std::vector<uint64_t> eval_indices(uint64_t n, int rank, int world) {
  WISESR_CHECK(world >= 1 && rank >= 0 && rank < world, "bad rank ", rank, " of ", world);
  const uint64_t begin = n * rank / world, end = n * (rank + 1) / world;
  std::vector<uint64_t> out(end - begin);
  std::iota(out.begin(), out.end(), begin);
  return out;
}

}  // namespace wisesr::data
