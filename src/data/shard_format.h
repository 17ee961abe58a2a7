#pragma once
// The on-disk schema of wisesr HDF5 shards (docs/shard-format.md is the user-facing description).
// Writer and reader share these names; bump kSchemaVersion on any incompatible change.

#include <cstdint>
#include <string>
#include <vector>

namespace wisesr::data {

inline constexpr int kSchemaVersion = 1;
inline constexpr const char* kManifestName = "index.json";
inline constexpr const char* kFormatName = "wisesr-shards";

namespace dset {
inline constexpr const char* kImages = "images";  // uint8 [total_bytes]  concatenated encoded records
inline constexpr const char* kOffsets =
    "offsets";  // uint64 [N+1]        record i = images[offsets[i]:offsets[i+1]]
inline constexpr const char* kLabels = "labels";  // int32 [N]           class index
inline constexpr const char* kShapes =
    "shapes";  // uint32 [N,3]        height, width, channels of the decoded image
inline constexpr const char* kCrc32 = "crc32";  // uint32 [N]          CRC-32 of each record's bytes
inline constexpr const char* kPaths = "paths";  // vlen utf-8 [N]      source path relative to the input root
}  // namespace dset

namespace attr {
inline constexpr const char* kSchemaVersion = "wisesr_schema_version";  // int32
inline constexpr const char* kStorage = "storage";                      // "jpeg" | "raw"
inline constexpr const char* kSizePolicy = "size_policy";               // "squash" | ...
inline constexpr const char* kJpegQuality = "jpeg_quality";             // int32 (0 for raw)
inline constexpr const char* kImageSize = "image_size";                 // int32, 0 = variable
inline constexpr const char* kNumRecords = "num_records";               // uint64
inline constexpr const char* kClassNames = "class_names";               // vlen utf-8 [K]
inline constexpr const char* kSplit = "split";                          // "train" | "val"
}  // namespace attr

/// Shard-level properties, identical for every shard of one prepared dataset.
struct ShardInfo {
  std::string storage = "jpeg";
  std::string size_policy = "squash";
  int jpeg_quality = 90;
  int image_size = 0;
  std::string split = "train";
  std::vector<std::string> class_names;
};

/// Per-record metadata as stored in a shard.
struct RecordShape {
  uint32_t height = 0;
  uint32_t width = 0;
  uint32_t channels = 0;
};

}  // namespace wisesr::data
