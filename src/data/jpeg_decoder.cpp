#include "data/jpeg_decoder.h"

#include <turbojpeg.h>

#include "core/error.h"

namespace wisesr::data {

JpegDecoder::JpegDecoder() : handle_(tjInitDecompress()) {
  WISESR_CHECK(handle_ != nullptr, "cannot create a libjpeg-turbo decompressor: ", tjGetErrorStr2(nullptr));
}

JpegDecoder::~JpegDecoder() {
  if (handle_) tjDestroy(handle_);
}

RecordShape JpegDecoder::peek(const uint8_t* data, size_t size) {
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(handle_, data, static_cast<unsigned long>(size), &w, &h, &subsamp, &colorspace) !=
      0) {
    WISESR_THROW("not a readable JPEG: ", tjGetErrorStr2(handle_));
  }
  WISESR_CHECK(w > 0 && h > 0, "not a readable JPEG: ", w, "x", h, " image");
  return {static_cast<uint32_t>(h), static_cast<uint32_t>(w), 3};
}

void JpegDecoder::decode_rgb(const uint8_t* data, size_t size, uint8_t* out, RecordShape expected) {
  RecordShape s = peek(data, size);
  WISESR_CHECK(s.height == expected.height && s.width == expected.width, "JPEG is ", s.width, "x", s.height,
               ", record says ", expected.width, "x", expected.height);
  // TJFLAG_ACCURATEDCT: the same IDCT as libjpeg's default, so pixels match OpenCV's decode.
  if (tjDecompress2(handle_, data, static_cast<unsigned long>(size), out, static_cast<int>(s.width), 0,
                    static_cast<int>(s.height), TJPF_RGB, TJFLAG_ACCURATEDCT) != 0) {
    // Warnings (e.g. extraneous bytes) still produce an image; only errors fail the record.
    if (tjGetErrorCode(handle_) == TJERR_FATAL) WISESR_THROW("corrupt JPEG: ", tjGetErrorStr2(handle_));
  }
}

}  // namespace wisesr::data
