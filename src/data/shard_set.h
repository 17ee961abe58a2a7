#pragma once
// All shards of one split of a prepared dataset, addressed by a global record index
// (shards in manifest order, records in shard order).
//
// Usage:
//   ShardSet set(dir, "train");                  // reads index.json, checks sizes and counts
//   set.read(i, bytes);  set.label(i);  set.shape(i);   // from any thread

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "data/manifest.h"
#include "data/shard_reader.h"

namespace wisesr::data {

class ShardSet {
 public:
  /// Opens every shard of the split listed in <dir>/index.json and checks record counts against it.
  /// A split the manifest does not list is an error naming it and the splits the dataset has (the same
  /// on every rank: they read the same index.json).
  ShardSet(const std::filesystem::path& dir, const std::string& split);

  const std::filesystem::path& dir() const { return dir_; }
  const std::string& split() const { return split_; }
  const Manifest& manifest() const { return manifest_; }
  uint64_t size() const { return total_; }
  size_t num_classes() const { return manifest_.classes.size(); }
  int32_t label(uint64_t global_index) const;
  RecordShape shape(uint64_t global_index) const;
  /// Read the encoded bytes of a record (CRC-checked).
  void read(uint64_t global_index, std::vector<uint8_t>& out) const;
  /// Shard file and local index of a record, for error messages.
  std::string describe(uint64_t global_index) const;
  size_t num_shards() const { return shards_.size(); }

  /// Compare the SHA-256 of the shards with index (i mod world == rank) against index.json, hashing
  /// with `threads` threads; throws naming the first changed shard. (Sizes and record counts of every
  /// shard are already checked at construction.) Returns the bytes hashed.
  uint64_t verify_checksums(int rank, int world, size_t threads) const;

 private:
  std::pair<size_t, uint64_t> locate(uint64_t global_index) const;

  std::filesystem::path dir_;
  std::string split_;
  Manifest manifest_;
  std::vector<std::unique_ptr<ShardReader>> shards_;
  std::vector<uint64_t> starts_;  // global index of each shard's first record
  uint64_t total_ = 0;
};

/// Throws unless `set` can be trained on: it holds records, and the dataset has at least 2 classes (with
/// one, every prediction is right and training learns nothing). Before anything is built, on every rank.
void check_trainable(const ShardSet& set);

/// Throws unless `set` holds records to evaluate (an empty split would report an accuracy of nothing).
void check_evaluable(const ShardSet& set);

}  // namespace wisesr::data
