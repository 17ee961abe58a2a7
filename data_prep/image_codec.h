#pragma once
// One input file -> one stored record: decode (any format OpenCV reads; grayscale, palette, alpha,
// 16-bit and CMYK become 8-bit 3-channel; EXIF orientation applied), resize by policy, encode.

#include <cstdint>
#include <string>
#include <vector>

#include "data/shard_format.h"

namespace wisesr::prep {

struct CodecOptions {
  int size = 224;
  std::string resize = "squash";  // squash | center-crop | short-side
  std::string storage = "jpeg";   // jpeg | raw (uint8 RGB, HWC)
  int quality = 90;
};

struct Record {
  bool ok = false;
  std::string reason;  // why the input was skipped
  std::vector<uint8_t> bytes;
  data::RecordShape shape;
};

/// Make OpenCV run each call on the calling thread. prep and verify parallelise across files with their
/// own pool (--threads); OpenCV's pool inside every resize would oversubscribe the cores (and make a
/// "--threads 1" figure use more than one). Call once before decoding.
void use_caller_threads_only();

/// Never throws for bad input: an unusable file gives ok = false with a reason.
Record make_record(const std::string& file, const CodecOptions& o);

/// Decode a stored record back to pixels (BGR, for checks): JPEG via OpenCV, raw by shape. Throws on
/// corrupt data.
void decode_record(const std::vector<uint8_t>& bytes, const data::RecordShape& shape,
                   const std::string& storage);

}  // namespace wisesr::prep
