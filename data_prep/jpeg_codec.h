#pragma once
// prep's JPEG fast path: libjpeg-turbo's TurboJPEG API straight into and out of RGB pixels. OpenCV's
// imdecode goes through its own libjpeg wrapper (decoding into BGR, then a copy) and imencode through a
// BGR -> RGB row conversion and a growing output vector; per 1024x768 image that was ~0.3 ms of the ~3 ms a
// decode takes. The pixels are the same (libjpeg's accurate IDCT and fancy upsampling on both paths, the
// same 1/2, 1/4, 1/8 DCT-domain reductions) and so are the encoded bytes (4:2:0, baseline, standard
// Huffman tables, accurate DCT: what OpenCV's encoder sets), tested in DecodeOpenCv.*.
//
// decode() takes only what it reproduces exactly: JPEGs without an EXIF orientation other than 1 (OpenCV
// rotates those), in colour spaces TurboJPEG converts to RGB (not CMYK/YCCK), decoding without a single
// libjpeg warning (OpenCV decodes through warnings, filling what is missing). Everything else returns
// false and goes through OpenCV as before.
//
// Usage (one per thread):
//   JpegCodec codec;
//   cv::Mat rgb;
//   int reduction = 1;  // chosen from the header's size; also set when decode() returns false
//   if (codec.decode(bytes, size, [](int w, int h) { return w >= 2048 ? 2 : 1; }, &rgb, &reduction)) ...;
//   else: cv::imdecode at that reduction
//   codec.encode(rgb, /*bgr=*/false, 90, &record_bytes);

#include <cstddef>
#include <cstdint>
#include <functional>
#include <opencv2/core.hpp>
#include <vector>

namespace wisesr::prep {

class JpegCodec {
 public:
  JpegCodec();
  ~JpegCodec();
  JpegCodec(const JpegCodec&) = delete;
  JpegCodec& operator=(const JpegCodec&) = delete;

  /// Decode a JPEG at 1/reduction scale (1, 2, 4 or 8) into 8-bit RGB; false where OpenCV must decode it
  /// (see above). Never throws for bad input.
  bool decode(const uint8_t* data, size_t size, int reduction, cv::Mat* rgb) {
    return decode(
        data, size, [reduction](int, int) { return reduction; }, rgb, nullptr);
  }
  /// The same with the reduction chosen by choose(width, height) from the header, which is read once;
  /// *chosen (if given) gets it whenever the header could be read, even when decode() returns false (for
  /// OpenCV's decode then), and 1 otherwise.
  bool decode(const uint8_t* data, size_t size, const std::function<int(int, int)>& choose, cv::Mat* rgb,
              int* chosen);
  /// Encode an 8-bit 3-channel image (RGB, or BGR with bgr = true) as a baseline 4:2:0 JPEG into out.
  /// Throws wisesr::Error when libjpeg-turbo fails.
  void encode(const cv::Mat& img, bool bgr, int quality, std::vector<uint8_t>* out);

 private:
  void* decompressor_ = nullptr;  // tjhandle
  void* compressor_ = nullptr;
  std::vector<unsigned char> encoded_;  // reused output buffer (tjBufSize of the largest image so far)
};

/// The EXIF orientation of a JPEG (1..8; 1 when it has no EXIF orientation tag), or 0 when its EXIF
/// segment cannot be read (then only OpenCV knows what it makes of it).
int jpeg_exif_orientation(const uint8_t* data, size_t size);

}  // namespace wisesr::prep
