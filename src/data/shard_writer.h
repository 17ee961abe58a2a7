#pragma once
// Writes one shard: records are collected in memory (a shard is bounded by the caller's size
// target) and written at finish() into a temporary file that is fsync'ed and renamed into place.
//
// Usage: ShardWriter w(dir / "train-00000.h5", info);  w.add(bytes, label, shape, rel_path) ...;
//        ShardSummary s = w.finish();   // name, records, bytes and SHA-256 for index.json

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/shard_format.h"

namespace wisesr::data {

struct ShardSummary {
  std::string file;  // file name (no directory)
  uint64_t records = 0;
  uint64_t bytes = 0;  // size of the shard file
  std::string sha256;  // of the whole shard file
};

class ShardWriter {
 public:
  ShardWriter(std::filesystem::path path, ShardInfo info);
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  void add(const std::vector<uint8_t>& bytes, int32_t label, RecordShape shape,
           const std::string& source_path);
  uint64_t records() const { return labels_.size(); }
  uint64_t payload_bytes() const { return data_.size(); }

  /// Write the shard atomically. A writer that is destroyed without finish() leaves nothing behind.
  ShardSummary finish();

 private:
  std::filesystem::path path_;
  ShardInfo info_;
  std::vector<uint8_t> data_;
  std::vector<uint64_t> offsets_{0};
  std::vector<int32_t> labels_;
  std::vector<uint32_t> shapes_;
  std::vector<uint32_t> crcs_;
  std::vector<std::string> paths_;
};

}  // namespace wisesr::data
