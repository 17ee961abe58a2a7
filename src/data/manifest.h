#pragma once
// index.json: the dataset-level manifest written by `wisesr prep` next to the shards.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "data/shard_writer.h"

namespace wisesr::data {

struct SplitManifest {
  uint64_t records = 0;
  std::vector<uint64_t> class_counts;  // indexed by class
  std::vector<ShardSummary> shards;
};

struct Manifest {
  int schema_version = kSchemaVersion;
  std::string tool_version;
  std::vector<std::string> classes;
  std::string storage = "jpeg";
  std::string size_policy = "squash";
  int jpeg_quality = 90;
  int image_size = 0;
  std::map<std::string, SplitManifest> splits;
  std::map<std::string, std::string> options;  // prep options as given, for provenance

  /// Load <dir>/index.json; throws naming the file on a missing file or malformed content.
  static Manifest load(const std::filesystem::path& dir);
  /// Write <dir>/index.json atomically.
  void save(const std::filesystem::path& dir) const;
  /// The named split; throws listing the available ones if it is absent.
  const SplitManifest& split(const std::string& name) const;
};

}  // namespace wisesr::data
