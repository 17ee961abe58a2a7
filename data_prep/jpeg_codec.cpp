#include "jpeg_codec.h"

#include <turbojpeg.h>

#include <cstring>

#include "core/error.h"

namespace wisesr::prep {
namespace {

uint32_t read_u16(const uint8_t* p, bool big_endian) {
  return big_endian ? (uint32_t{p[0]} << 8) | p[1] : (uint32_t{p[1]} << 8) | p[0];
}

uint32_t read_u32(const uint8_t* p, bool big_endian) {
  return big_endian ? (read_u16(p, true) << 16) | read_u16(p + 2, true)
                    : (read_u16(p + 2, false) << 16) | read_u16(p, false);
}

// The orientation tag (0x0112) of IFD0 in an APP1 "Exif\0\0" payload; 1 without one, 0 if malformed.
int orientation_in_exif(const uint8_t* tiff, size_t size) {
  if (size < 8) return 0;
  const bool be = tiff[0] == 'M' && tiff[1] == 'M';
  if (!be && !(tiff[0] == 'I' && tiff[1] == 'I')) return 0;
  if (read_u16(tiff + 2, be) != 42) return 0;
  const uint32_t ifd = read_u32(tiff + 4, be);
  if (ifd > size - 2 || ifd < 8) return 0;
  const uint32_t entries = read_u16(tiff + ifd, be);
  if (ifd + 2 + uint64_t{entries} * 12 > size) return 0;
  for (uint32_t i = 0; i < entries; ++i) {
    const uint8_t* e = tiff + ifd + 2 + i * 12;
    if (read_u16(e, be) != 0x0112) continue;
    const uint32_t type = read_u16(e + 2, be), count = read_u32(e + 4, be);
    if (type != 3 || count != 1) return 0;  // SHORT, one value
    const uint32_t v = read_u16(e + 8, be);
    return v >= 1 && v <= 8 ? static_cast<int>(v) : 0;
  }
  return 1;
}

}  // namespace

int jpeg_exif_orientation(const uint8_t* data, size_t size) {
  if (size < 4 || data[0] != 0xFF || data[1] != 0xD8) return 0;
  size_t at = 2;
  int orientation = 1;
  // Marker segments up to the start of scan: FF xx, then a big-endian length that counts itself.
  while (at + 4 <= size) {
    if (data[at] != 0xFF) return 0;
    const uint8_t marker = data[at + 1];
    if (marker == 0xFF) {  // fill byte
      ++at;
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) break;  // start of scan / end of image
    const size_t len = (size_t{data[at + 2]} << 8) | data[at + 3];
    if (len < 2 || at + 2 + len > size) return 0;
    const uint8_t* payload = data + at + 4;
    if (marker == 0xE1 && len >= 8 && std::memcmp(payload, "Exif\0\0", 6) == 0) {
      const int o = orientation_in_exif(payload + 6, len - 8);
      if (o != 1) return o;  // a rotation, or unreadable: OpenCV's to handle
    }
    at += 2 + len;
  }
  return orientation;
}

JpegCodec::JpegCodec() : decompressor_(tjInitDecompress()), compressor_(tjInitCompress()) {
  WISESR_CHECK(decompressor_ && compressor_,
               "cannot create libjpeg-turbo handles: ", tjGetErrorStr2(nullptr));
}

JpegCodec::~JpegCodec() {
  if (decompressor_) tjDestroy(decompressor_);
  if (compressor_) tjDestroy(compressor_);
}

bool JpegCodec::decode(const uint8_t* data, size_t size, const std::function<int(int, int)>& choose,
                       cv::Mat* rgb, int* chosen) {
  if (chosen) *chosen = 1;
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(decompressor_, data, static_cast<unsigned long>(size), &w, &h, &subsamp,
                          &colorspace) != 0 ||
      w <= 0 || h <= 0)
    return false;
  const int reduction = choose(w, h);
  if (chosen) *chosen = reduction;
  if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) return false;
  if (jpeg_exif_orientation(data, size) != 1) return false;
  const tjscalingfactor scale{1, reduction};
  const int sw = TJSCALED(w, scale), sh = TJSCALED(h, scale);
  rgb->create(sh, sw, CV_8UC3);
  // Any warning too (corrupt data libjpeg decodes around): OpenCV then decides, as before.
  return tjDecompress2(decompressor_, data, static_cast<unsigned long>(size), rgb->data, sw,
                       static_cast<int>(rgb->step[0]), sh, TJPF_RGB, TJFLAG_ACCURATEDCT) == 0;
}

void JpegCodec::encode(const cv::Mat& img, bool bgr, int quality, std::vector<uint8_t>* out) {
  WISESR_CHECK(img.type() == CV_8UC3, "JPEG encode needs an 8-bit 3-channel image");
  const unsigned long bound = tjBufSize(img.cols, img.rows, TJSAMP_420);
  if (encoded_.size() < bound) encoded_.resize(bound);
  unsigned char* buf = encoded_.data();
  unsigned long size = bound;
  if (tjCompress2(compressor_, img.data, img.cols, static_cast<int>(img.step[0]), img.rows,
                  bgr ? TJPF_BGR : TJPF_RGB, &buf, &size, TJSAMP_420, quality,
                  TJFLAG_ACCURATEDCT | TJFLAG_NOREALLOC) != 0)
    WISESR_THROW("JPEG encode failed: ", tjGetErrorStr2(compressor_));
  out->assign(buf, buf + size);
}

}  // namespace wisesr::prep
