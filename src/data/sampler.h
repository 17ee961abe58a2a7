#pragma once
// Which records each rank reads, per epoch. Deterministic from (seed, epoch) alone, so every rank
// computes the same global permutation without communication.
//  train: a seeded permutation P of all N records is consumed in global batches of G = world * batch
//         samples; in global batch s rank r reads P[start + s*G + r*batch, ... + batch). Every rank runs
//         floor((N - start) / G) steps; the tail (< G records) is dropped this epoch and differs from
//         epoch to epoch. `start` (global samples already consumed this epoch) makes a resume continue
//         at the exact next sample, also on another world size or batch size.
//  eval : no shuffle; rank r takes the contiguous range [N*r/world, N*(r+1)/world): every record
//         exactly once, no padding; ranks may differ by one record.

#include <cstdint>
#include <vector>

namespace wisesr::data {

/// splitmix64: a small, portable, well-mixed generator (std:: distributions differ across libraries).
uint64_t mix64(uint64_t x);

/// The epoch's permutation of [0, num_records).
std::vector<uint64_t> epoch_permutation(uint64_t num_records, uint64_t seed, uint64_t epoch);
/// Steps every rank runs this epoch from global sample `start` on.
uint64_t train_steps(uint64_t num_records, int world, uint64_t batch, uint64_t start = 0);
/// The records rank reads this epoch, in order: train_steps(...) batches of `batch` indices.
std::vector<uint64_t> train_indices(uint64_t num_records, uint64_t seed, uint64_t epoch, int rank, int world,
                                    uint64_t batch, uint64_t start = 0);
std::vector<uint64_t> eval_indices(uint64_t num_records, int rank, int world);

}  // namespace wisesr::data
