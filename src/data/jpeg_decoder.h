#pragma once
// libjpeg-turbo decoder (one per thread; the handle is reused across images).

#include <cstdint>
#include <vector>

#include "data/shard_format.h"

namespace wisesr::data {

class JpegDecoder {
 public:
  JpegDecoder();
  ~JpegDecoder();
  JpegDecoder(const JpegDecoder&) = delete;
  JpegDecoder& operator=(const JpegDecoder&) = delete;

  /// Read the header only.
  RecordShape peek(const uint8_t* data, size_t size);
  /// Decode to interleaved RGB (HWC uint8) into out, which must hold height*width*3 bytes of the
  /// image's own size (from peek()). Throws on corrupt data.
  void decode_rgb(const uint8_t* data, size_t size, uint8_t* out, RecordShape expected);

 private:
  void* handle_ = nullptr;  // tjhandle
};

}  // namespace wisesr::data
