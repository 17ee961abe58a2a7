#pragma once
// Which records each rank reads, per epoch. Deterministic from (seed, epoch) alone, so every rank
// computes the same global permutation without communication.
//  train: a seeded permutation of all N records; every rank takes an equal, disjoint slice of
//         floor(N / world) records (the remainder, at most world-1 records, is dropped this epoch
//         and differs from epoch to epoch), so every rank runs the same number of steps.
//  eval : no shuffle; rank r takes the contiguous range [N*r/world, N*(r+1)/world): every record
//         exactly once, no padding; ranks may differ by one record.

#include <cstdint>
#include <vector>

namespace wisesr::data {

/// splitmix64: a small, portable, well-mixed generator (std:: distributions differ across libraries).
uint64_t mix64(uint64_t x);

std::vector<uint64_t> train_indices(uint64_t num_records, uint64_t seed, uint64_t epoch, int rank, int world);
std::vector<uint64_t> eval_indices(uint64_t num_records, int rank, int world);

}  // namespace wisesr::data
