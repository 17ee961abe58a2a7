#pragma once
// Read-only access to one shard. The small per-record arrays (offsets, labels, shapes, CRCs) are
// loaded at open. Record bytes are read on demand:
//  - direct (the normal case): the 'images' dataset is contiguous and unfiltered, as `wisesr prep`
//    writes it, so its file offset is taken from HDF5 once and records are read with pread() on a
//    plain read-only descriptor. The HDF5 handles are closed right after open, so no HDF5 state is
//    held (nothing to share across a fork) and read() is safe from any number of threads.
//  - fallback (chunked/filtered datasets written by other tools): HDF5 hyperslab reads, serialised
//    by a process-wide mutex because Debian's HDF5 is not thread-safe.
// source_path() opens the file with HDF5 each time (error messages and tools only).

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/fs.h"
#include "core/h5.h"
#include "data/shard_format.h"

namespace wisesr::data {

class ShardReader {
 public:
  /// Opens and validates the shard; throws naming the file if it is missing, not HDF5, of another
  /// schema version, or internally inconsistent (offsets vs. byte count).
  explicit ShardReader(std::filesystem::path path);
  ~ShardReader();
  ShardReader(const ShardReader&) = delete;
  ShardReader& operator=(const ShardReader&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const ShardInfo& info() const { return info_; }
  uint64_t size() const { return labels_.size(); }
  int32_t label(uint64_t i) const { return labels_.at(i); }
  const std::vector<int32_t>& labels() const { return labels_; }
  RecordShape shape(uint64_t i) const;
  uint32_t stored_crc32(uint64_t i) const { return crcs_.at(i); }
  uint64_t record_bytes(uint64_t i) const { return offsets_.at(i + 1) - offsets_.at(i); }

  /// Read record i's bytes into out (resized). With verify, a CRC mismatch throws naming shard and index.
  /// Thread-safe.
  void read(uint64_t i, std::vector<uint8_t>& out, bool verify = true) const;
  std::string source_path(uint64_t i) const;
  /// True when records are read with pread() (see the header comment).
  bool direct() const { return fd_.get() >= 0; }

 private:
  std::filesystem::path path_;
  fs::UniqueFd fd_;           // direct mode
  uint64_t data_offset_ = 0;  // file offset of images[0] in direct mode
  h5::Handle file_;           // fallback mode only
  h5::Handle images_;
  ShardInfo info_;
  std::vector<uint64_t> offsets_;
  std::vector<int32_t> labels_;
  std::vector<uint32_t> shapes_;
  std::vector<uint32_t> crcs_;
};

}  // namespace wisesr::data
