// The trainer's libjpeg-turbo decode against OpenCV's decode of the same bytes (OpenCV is what
// `wisesr prep` and users' tools decode with). Built only where OpenCV is.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdlib>

#include "data/jpeg_decoder.h"
#include "test_data.h"

namespace wisesr::data {
namespace {

// Max absolute difference per channel value between our decode and OpenCV's (converted to RGB).
int max_difference(const std::vector<uint8_t>& jpeg) {
  JpegDecoder dec;
  const RecordShape s = dec.peek(jpeg.data(), jpeg.size());
  std::vector<uint8_t> ours(static_cast<size_t>(s.height) * s.width * 3);
  dec.decode_rgb(jpeg.data(), jpeg.size(), ours.data(), s);
  cv::Mat bgr =
      cv::imdecode(cv::Mat(1, static_cast<int>(jpeg.size()), CV_8UC1, const_cast<uint8_t*>(jpeg.data())),
                   cv::IMREAD_COLOR);
  EXPECT_EQ(bgr.rows, static_cast<int>(s.height));
  EXPECT_EQ(bgr.cols, static_cast<int>(s.width));
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  int worst = 0;
  for (int y = 0; y < rgb.rows; ++y) {
    const uint8_t* row = rgb.ptr<uint8_t>(y);
    for (int x = 0; x < rgb.cols * 3; ++x) {
      worst = std::max(worst, std::abs(int(row[x]) - int(ours[static_cast<size_t>(y) * rgb.cols * 3 + x])));
    }
  }
  return worst;
}

TEST(DecodeVsOpenCV, SamePixelsWithinOneLsb) {
  for (int quality : {75, 90, 100}) {
    for (int size : {17, 64, 200}) {
      auto rgb = testing::test_image(quality % 7, size, size);
      EXPECT_LE(max_difference(testing::encode_jpeg(rgb, size, size, quality)), 1)
          << "q" << quality << " " << size << "px";
    }
  }
}

TEST(DecodeVsOpenCV, OpenCvEncodedJpegsToo) {  // 4:2:0 chroma subsampling as `wisesr prep` writes
  cv::Mat img(96, 128, CV_8UC3);
  cv::randu(img, cv::Scalar::all(0), cv::Scalar::all(255));
  cv::GaussianBlur(img, img, cv::Size(5, 5), 2);
  std::vector<uint8_t> jpeg;
  cv::imencode(".jpg", img, jpeg, {cv::IMWRITE_JPEG_QUALITY, 90});
  EXPECT_LE(max_difference(jpeg), 1);
}

}  // namespace
}  // namespace wisesr::data
