#include "image_codec.h"

#include "commands.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "area_resize.h"
#include "core/error.h"
#include "core/fs.h"
#include "jpeg_codec.h"

namespace wisesr::prep {
namespace {

constexpr double kMaxAspect = 20.0;  // beyond this an image cannot be squashed or cropped sensibly

bool is_jpeg(const std::string& raw) {
  return raw.size() >= 3 && static_cast<uint8_t>(raw[0]) == 0xFF && static_cast<uint8_t>(raw[1]) == 0xD8;
}

// libjpeg decodes a truncated file with a warning and grey-fills the rest; we would store that grey. A
// complete JPEG ends with the EOI marker (FF D9), possibly followed by a little trailing data; inside
// entropy-coded data FF is never followed by D9.
bool has_jpeg_end(const std::string& raw) {
  const size_t window = std::min<size_t>(raw.size() - 2, 4096);
  for (size_t i = raw.size() - 1; i + window >= raw.size() && i >= 3; --i) {
    if (static_cast<uint8_t>(raw[i - 1]) == 0xFF && static_cast<uint8_t>(raw[i]) == 0xD9) return true;
  }
  return false;
}

// For a JPEG, libjpeg can decode at 1/2, 1/4 or 1/8 scale in the DCT domain at a fraction of the cost.
// Pick the largest reduction of a w x ht JPEG that still leaves at least `size` pixels where the policy
// needs them.
int jpeg_reduction(int w, int ht, const CodecOptions& o) {
  const int need_w = o.resize == "squash" ? w : std::min(w, ht),
            need_h = o.resize == "squash" ? ht : std::min(w, ht);
  for (int r : {8, 4, 2})
    if (need_w / r >= o.size && need_h / r >= o.size) return r;
  return 1;
}

int imread_flag(int reduction) {
  return reduction == 8   ? cv::IMREAD_REDUCED_COLOR_8
         : reduction == 4 ? cv::IMREAD_REDUCED_COLOR_4
         : reduction == 2 ? cv::IMREAD_REDUCED_COLOR_2
                          : cv::IMREAD_COLOR;
}

// Decoded pixels: RGB from the libjpeg-turbo fast path (jpeg_codec.h), BGR from OpenCV.
struct Decoded {
  cv::Mat img;
  bool bgr = false;
};

Decoded decode_image(std::string& raw, const CodecOptions& o) {
  thread_local JpegCodec codec;
  Decoded d;
  // The header is read once, by TurboJPEG: it sizes the reduction for both decoders. Where it cannot read
  // one, OpenCV decodes at full size and decides (and reports) what is wrong with the file.
  int reduction = 1;
  if (is_jpeg(raw) && codec.decode(
                          reinterpret_cast<const uint8_t*>(raw.data()), raw.size(),
                          [&o](int w, int h) { return jpeg_reduction(w, h, o); }, &d.img, &reduction))
    return d;
  d.bgr = true;
  try {
    d.img =
        cv::imdecode(cv::Mat(1, static_cast<int>(raw.size()), CV_8UC1, raw.data()), imread_flag(reduction));
  } catch (const cv::Exception&) {
    d.img.release();
  }
  return d;
}

cv::Mat resize_to(const cv::Mat& img, int w, int h) {
  if (img.cols == w && img.rows == h) return img;
  const bool down = w <= img.cols && h <= img.rows;
  // OpenCV's INTER_AREA is fast for integer factors on both axes; ours covers the rest (area_resize.h).
  const bool integer_factors = img.cols % w == 0 && img.rows % h == 0;
  if (down && !integer_factors && img.type() == CV_8UC3) return area_downscale(img, w, h);
  cv::Mat out;
  cv::resize(img, out, cv::Size(w, h), 0, 0, down ? cv::INTER_AREA : cv::INTER_CUBIC);
  return out;
}

}  // namespace

void use_caller_threads_only() { cv::setNumThreads(0); }

Record make_record(const std::string& file, const CodecOptions& o) {
  Record rec;
  std::string raw;
  try {
    raw = fs::read_file(file);
  } catch (const Error&) {
    if (std::filesystem::is_symlink(file) && !std::filesystem::exists(file)) {
      rec.reason = "broken symlink";
    } else if (::access(file.c_str(), R_OK) != 0) {
      rec.reason = std::string("unreadable (") + std::strerror(errno) + ")";  // e.g. permission denied
    } else {
      rec.reason = "unreadable";
    }
    return rec;
  }
  if (raw.empty()) {
    rec.reason = "empty file";
    return rec;
  }
  if (is_jpeg(raw) && !has_jpeg_end(raw)) {
    rec.reason = "truncated JPEG (no end-of-image marker)";
    return rec;
  }
  auto [img, bgr] = decode_image(raw, o);
  if (img.empty()) {
    // MIT67 holds a few GIFs named .jpg; OpenCV (before 4.11) has no GIF decoder.
    rec.reason = raw.rfind("GIF8", 0) == 0 ? "a GIF image (OpenCV cannot decode GIF: convert it to PNG)"
                                           : "not a decodable image";
    return rec;
  }
  const double aspect = static_cast<double>(std::max(img.cols, img.rows)) / std::min(img.cols, img.rows);
  if (aspect > kMaxAspect) {
    rec.reason = "extreme aspect ratio " + std::to_string(img.cols) + "x" + std::to_string(img.rows);
    return rec;
  }
  const int s = o.size;
  cv::Mat out;
  if (o.resize == "squash") {
    out = resize_to(img, s, s);
  } else {
    const double scale = static_cast<double>(s) / std::min(img.cols, img.rows);
    const int w = std::max(s, static_cast<int>(std::lround(img.cols * scale)));
    const int h = std::max(s, static_cast<int>(std::lround(img.rows * scale)));
    out = resize_to(img, w, h);
    if (o.resize == "center-crop") out = out(cv::Rect((w - s) / 2, (h - s) / 2, s, s));  // a view
  }
  rec.shape = {static_cast<uint32_t>(out.rows), static_cast<uint32_t>(out.cols), 3};
  if (o.storage == "raw") {
    cv::Mat rgb = out;
    if (bgr) cv::cvtColor(out, rgb, cv::COLOR_BGR2RGB);
    if (!rgb.isContinuous()) rgb = rgb.clone();
    rec.bytes.assign(rgb.data, rgb.data + rgb.total() * rgb.elemSize());
  } else {
    thread_local JpegCodec encoder;
    try {
      encoder.encode(out, bgr, o.quality, &rec.bytes);
    } catch (const Error& e) {
      rec.reason = "JPEG encode failed";
      return rec;
    }
  }
  rec.ok = true;
  return rec;
}

ImageRgb load_image_rgb(const std::string& file, int size, const std::string& resize) {
  CodecOptions o;
  o.size = size;
  o.resize = resize;
  o.storage = "raw";
  Record rec = make_record(file, o);
  ImageRgb out;
  out.ok = rec.ok;
  out.reason = std::move(rec.reason);
  if (!rec.ok) return out;
  out.rgb = std::move(rec.bytes);
  out.height = static_cast<int>(rec.shape.height);
  out.width = static_cast<int>(rec.shape.width);
  return out;
}

void decode_record(const std::vector<uint8_t>& bytes, const data::RecordShape& shape,
                   const std::string& storage) {
  if (storage == "raw") {
    WISESR_CHECK(bytes.size() == static_cast<size_t>(shape.height) * shape.width * shape.channels,
                 "raw record holds ", bytes.size(), " bytes, its shape needs ",
                 static_cast<size_t>(shape.height) * shape.width * shape.channels);
    return;
  }
  cv::Mat img;
  try {
    img =
        cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<uint8_t*>(bytes.data())),
                     cv::IMREAD_COLOR);
  } catch (const cv::Exception&) {
    img.release();
  }
  WISESR_CHECK(!img.empty(), "record is not a decodable JPEG");
  WISESR_CHECK(
      static_cast<uint32_t>(img.rows) == shape.height && static_cast<uint32_t>(img.cols) == shape.width,
      "record decodes to ", img.cols, "x", img.rows, ", its shape says ", shape.width, "x", shape.height);
}

}  // namespace wisesr::prep
