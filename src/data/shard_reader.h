#pragma once
// Read-only access to one shard. The small per-record arrays (offsets, labels, shapes, CRCs) are
// loaded at open; record bytes are read on demand. Not thread-safe: HDF5 (Debian's serial build)
// must be called from one thread at a time, so one reader belongs to one thread.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/h5.h"
#include "data/shard_format.h"

namespace wisesr::data {

class ShardReader {
 public:
  /// Opens and validates the shard; throws naming the file if it is missing, not HDF5, of another
  /// schema version, or internally inconsistent (offsets vs. byte count).
  explicit ShardReader(std::filesystem::path path);

  const std::filesystem::path& path() const { return path_; }
  const ShardInfo& info() const { return info_; }
  uint64_t size() const { return labels_.size(); }
  int32_t label(uint64_t i) const { return labels_.at(i); }
  const std::vector<int32_t>& labels() const { return labels_; }
  RecordShape shape(uint64_t i) const;
  uint32_t stored_crc32(uint64_t i) const { return crcs_.at(i); }
  uint64_t record_bytes(uint64_t i) const { return offsets_.at(i + 1) - offsets_.at(i); }

  /// Read record i's bytes into out (resized). With verify, a CRC mismatch throws naming shard and index.
  void read(uint64_t i, std::vector<uint8_t>& out, bool verify = true) const;
  std::string source_path(uint64_t i) const;

 private:
  std::filesystem::path path_;
  h5::Handle file_;
  h5::Handle images_;
  ShardInfo info_;
  std::vector<uint64_t> offsets_;
  std::vector<int32_t> labels_;
  std::vector<uint32_t> shapes_;
  std::vector<uint32_t> crcs_;
};

}  // namespace wisesr::data
