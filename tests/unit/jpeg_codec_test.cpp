// prep's libjpeg-turbo fast path (data_prep/jpeg_codec.h) against OpenCV, which prep used for every image
// before and still uses for what the fast path declines: decoded pixels at every DCT reduction, encoded
// bytes, the EXIF orientation reader, and the records make_record() writes through either path.
#include <gtest/gtest.h>

#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/fs.h"
#include "image_codec.h"
#include "jpeg_codec.h"
#include "test_data.h"

namespace wisesr::prep {
namespace {

cv::Mat photo_like(int rows, int cols, int seed) {
  cv::Mat img(rows, cols, CV_8UC3);
  cv::theRNG().state = static_cast<uint64_t>(seed) + 1;
  cv::randu(img, cv::Scalar::all(0), cv::Scalar::all(255));
  cv::GaussianBlur(img, img, cv::Size(7, 7), 3);
  return img;
}

std::vector<uint8_t> cv_encode(const cv::Mat& img, std::vector<int> params) {
  std::vector<uint8_t> jpeg;
  EXPECT_TRUE(cv::imencode(".jpg", img, jpeg, params));
  return jpeg;
}

int max_abs_diff(const cv::Mat& a, const cv::Mat& b) {
  EXPECT_EQ(a.size(), b.size());
  if (a.size() != b.size()) return 255;
  double worst = 0;
  cv::Mat d;
  cv::absdiff(a, b, d);
  cv::minMaxLoc(d.reshape(1), nullptr, &worst);
  return static_cast<int>(worst);
}

// An APP1 Exif segment with IFD0 holding one orientation entry, inserted right after SOI.
std::vector<uint8_t> with_orientation(const std::vector<uint8_t>& jpeg, int orientation, bool big_endian) {
  auto u16 = [&](std::vector<uint8_t>& v, uint32_t x) {
    if (big_endian) {
      v.push_back(static_cast<uint8_t>(x >> 8));
      v.push_back(static_cast<uint8_t>(x));
    } else {
      v.push_back(static_cast<uint8_t>(x));
      v.push_back(static_cast<uint8_t>(x >> 8));
    }
  };
  auto u32 = [&](std::vector<uint8_t>& v, uint32_t x) {
    if (big_endian) {
      u16(v, x >> 16);
      u16(v, x & 0xffff);
    } else {
      u16(v, x & 0xffff);
      u16(v, x >> 16);
    }
  };
  std::vector<uint8_t> tiff = {static_cast<uint8_t>(big_endian ? 'M' : 'I'),
                               static_cast<uint8_t>(big_endian ? 'M' : 'I')};
  u16(tiff, 42);
  u32(tiff, 8);  // IFD0 right after the header
  u16(tiff, 1);  // one entry
  u16(tiff, 0x0112);
  u16(tiff, 3);  // SHORT
  u32(tiff, 1);
  u16(tiff, static_cast<uint32_t>(orientation));
  u16(tiff, 0);
  u32(tiff, 0);  // no next IFD
  std::vector<uint8_t> seg = {0xFF, 0xE1};
  const size_t len = 2 + 6 + tiff.size();
  seg.push_back(static_cast<uint8_t>(len >> 8));
  seg.push_back(static_cast<uint8_t>(len));
  for (char c : std::string("Exif\0\0", 6)) seg.push_back(static_cast<uint8_t>(c));
  seg.insert(seg.end(), tiff.begin(), tiff.end());
  seg.insert(seg.begin(), {0xFF, 0xD8});  // SOI, then the segment
  std::vector<uint8_t> out = seg;
  out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
  return out;
}

cv::Mat cv_decode_rgb(const std::vector<uint8_t>& jpeg, int flag) {
  cv::Mat bgr = cv::imdecode(jpeg, flag), rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

// libjpeg-turbo's 4:4:4 encode (OpenCV 4.6 has no sampling option).
std::vector<uint8_t> encode_444(const cv::Mat& bgr, int quality) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return testing::encode_jpeg(std::vector<uint8_t>(rgb.data, rgb.data + rgb.total() * 3), rgb.rows, rgb.cols,
                              quality);
}

TEST(JpegCodec, DecodesAsOpenCvAtEveryReduction) {
  const cv::Mat img = photo_like(150, 203, 1);  // odd sizes: partial MCUs, rounded-up reduced sizes
  cv::Mat gray;
  cv::cvtColor(img, gray, cv::COLOR_BGR2GRAY);
  const std::vector<std::pair<std::string, std::vector<uint8_t>>> inputs = {
      {"4:2:0 q90", cv_encode(img, {cv::IMWRITE_JPEG_QUALITY, 90})},
      {"4:4:4 q95", encode_444(img, 95)},
      {"progressive", cv_encode(img, {cv::IMWRITE_JPEG_PROGRESSIVE, 1})},
      {"grayscale", cv_encode(gray, {cv::IMWRITE_JPEG_QUALITY, 90})},
  };
  const std::vector<std::pair<int, int>> reductions = {{1, cv::IMREAD_COLOR},
                                                       {2, cv::IMREAD_REDUCED_COLOR_2},
                                                       {4, cv::IMREAD_REDUCED_COLOR_4},
                                                       {8, cv::IMREAD_REDUCED_COLOR_8}};
  JpegCodec codec;
  for (const auto& [name, jpeg] : inputs) {
    for (const auto& [r, flag] : reductions) {
      cv::Mat ours;
      ASSERT_TRUE(codec.decode(jpeg.data(), jpeg.size(), r, &ours)) << name << " 1/" << r;
      EXPECT_EQ(max_abs_diff(ours, cv_decode_rgb(jpeg, flag)), 0) << name << " 1/" << r;
    }
  }
}

TEST(JpegCodec, EncodesTheBytesOpenCvEncodes) {
  JpegCodec codec;
  for (int quality : {75, 90, 100}) {
    for (auto [rows, cols] : {std::pair{64, 64}, std::pair{37, 91}, std::pair{512, 512}}) {
      const cv::Mat bgr = photo_like(rows, cols, quality + rows);
      cv::Mat rgb;
      cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
      const auto expected = cv_encode(bgr, {cv::IMWRITE_JPEG_QUALITY, quality});
      std::vector<uint8_t> from_rgb, from_bgr;
      codec.encode(rgb, /*bgr=*/false, quality, &from_rgb);
      codec.encode(bgr, /*bgr=*/true, quality, &from_bgr);
      EXPECT_EQ(from_rgb, expected) << "q" << quality << " " << cols << "x" << rows;
      EXPECT_EQ(from_bgr, expected) << "q" << quality << " " << cols << "x" << rows;
      // A view with a row stride (a center crop) encodes as its copy does.
      const cv::Mat view = rgb(cv::Rect(cols / 4, rows / 4, cols / 2, rows / 2));
      std::vector<uint8_t> a, b;
      codec.encode(view, false, quality, &a);
      codec.encode(view.clone(), false, quality, &b);
      EXPECT_EQ(a, b);
    }
  }
}

TEST(JpegCodec, ReadsExifOrientationAndLeavesRotationsToOpenCv) {
  const auto plain = cv_encode(photo_like(32, 64, 3), {cv::IMWRITE_JPEG_QUALITY, 90});
  EXPECT_EQ(jpeg_exif_orientation(plain.data(), plain.size()), 1);  // no EXIF at all
  JpegCodec codec;
  cv::Mat out;
  for (bool be : {false, true}) {
    for (int o = 1; o <= 8; ++o) {
      const auto jpeg = with_orientation(plain, o, be);
      EXPECT_EQ(jpeg_exif_orientation(jpeg.data(), jpeg.size()), o) << o << (be ? " MM" : " II");
      EXPECT_EQ(codec.decode(jpeg.data(), jpeg.size(), 1, &out), o == 1) << o;
    }
  }
  // An orientation value out of range, and a segment cut short: unreadable -> 0 (OpenCV's to judge).
  auto bad = with_orientation(plain, 9, false);
  EXPECT_EQ(jpeg_exif_orientation(bad.data(), bad.size()), 0);
  EXPECT_FALSE(codec.decode(bad.data(), bad.size(), 1, &out));
  EXPECT_EQ(jpeg_exif_orientation(plain.data(), 3), 0);
  const std::vector<uint8_t> not_jpeg = {'G', 'I', 'F', '8', '9', 'a'};
  EXPECT_EQ(jpeg_exif_orientation(not_jpeg.data(), not_jpeg.size()), 0);
  EXPECT_FALSE(codec.decode(not_jpeg.data(), not_jpeg.size(), 1, &out));
}

TEST(JpegCodec, RecordsOfRotatedAndPlainJpegsAsOpenCvMadeThem) {
  testing::TempDir dir;
  const cv::Mat img = photo_like(96, 160, 4);
  const auto plain = cv_encode(img, {cv::IMWRITE_JPEG_QUALITY, 92});
  const auto rotated = with_orientation(plain, 6, true);  // 90 degrees clockwise: 96x160 shown as 160x96
  fs::write_file_atomic(dir.path() / "plain.jpg", std::string(plain.begin(), plain.end()));
  fs::write_file_atomic(dir.path() / "rotated.jpg", std::string(rotated.begin(), rotated.end()));
  CodecOptions o;
  o.size = 48;
  o.resize = "short-side";
  const Record p = make_record((dir.path() / "plain.jpg").string(), o);
  const Record r = make_record((dir.path() / "rotated.jpg").string(), o);
  ASSERT_TRUE(p.ok && r.ok) << p.reason << r.reason;
  EXPECT_EQ(p.shape.width, 80u);
  EXPECT_EQ(p.shape.height, 48u);
  EXPECT_EQ(r.shape.width, 48u);  // OpenCV applied the rotation
  EXPECT_EQ(r.shape.height, 80u);
  // The plain record equals what OpenCV alone made: decode at 1/2 (96 -> 48), no resize, encode.
  EXPECT_EQ(p.bytes,
            cv_encode(cv::imdecode(plain, cv::IMREAD_REDUCED_COLOR_2), {cv::IMWRITE_JPEG_QUALITY, 90}));
  // Raw storage: the same pixels in RGB.
  o.storage = "raw";
  const Record raw = make_record((dir.path() / "plain.jpg").string(), o);
  ASSERT_TRUE(raw.ok);
  const cv::Mat expected = cv_decode_rgb(plain, cv::IMREAD_REDUCED_COLOR_2);
  ASSERT_EQ(raw.bytes.size(), expected.total() * 3);
  EXPECT_TRUE(std::equal(raw.bytes.begin(), raw.bytes.end(), expected.data));
}

}  // namespace
}  // namespace wisesr::prep
