// prep's pixel-area downscale against OpenCV's INTER_AREA, which it replaces where a factor is not an
// integer: within 1 everywhere, and almost always equal. Built only where OpenCV is.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "area_resize.h"
#include "core/error.h"

namespace wisesr::prep {
namespace {

cv::Mat test_image(int w, int h, bool noise) {
  cv::Mat img(h, w, CV_8UC3);
  if (noise) {
    cv::randu(img, cv::Scalar::all(0), cv::Scalar::all(256));
  } else {  // smooth gradients with an edge: what photographs mostly are
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        img.at<cv::Vec3b>(y, x) =
            cv::Vec3b(static_cast<uint8_t>(255 * x / w), static_cast<uint8_t>(255 * y / h),
                      static_cast<uint8_t>(x > w / 3 ? 200 : 30));
  }
  return img;
}

TEST(AreaResize, MatchesOpenCvInterAreaWithinOne) {
  cv::setRNGSeed(7);
  const std::vector<std::array<int, 4>> cases = {
      {1024, 768, 512, 512},                        // the prep benchmark: 2 x 1.5
      {500, 375, 224, 224},                         // a typical ImageNet image, squashed
      {375, 500, 224, 224},  {500, 375, 299, 224},  // short-side 224
      {333, 257, 101, 99},                          // awkward factors on both axes
      {4000, 60, 200, 45},                          // extreme aspect ratio
      {17, 13, 5, 4},        {7, 7, 1, 1},          // one output pixel: the mean of everything
      {1024, 768, 512, 384},  // integer factors (prep leaves these to OpenCV, but both must agree)
      {640, 480, 640, 240},   // one axis unchanged
  };
  for (const auto& [sw, sh, dw, dh] : cases) {
    for (bool noise : {false, true}) {
      const cv::Mat src = test_image(sw, sh, noise);
      cv::Mat ref;
      cv::resize(src, ref, cv::Size(dw, dh), 0, 0, cv::INTER_AREA);
      const cv::Mat ours = area_downscale(src, dw, dh);
      ASSERT_EQ(ours.size(), ref.size());
      ASSERT_EQ(ours.type(), CV_8UC3);
      cv::Mat diff;
      cv::absdiff(ours, ref, diff);
      double worst = 0;
      cv::minMaxLoc(diff.reshape(1), nullptr, &worst);
      const double differing =
          static_cast<double>(cv::countNonZero(diff.reshape(1))) / static_cast<double>(diff.total() * 3);
      const std::string what = std::to_string(sw) + "x" + std::to_string(sh) + " -> " + std::to_string(dw) +
                               "x" + std::to_string(dh) + (noise ? " noise" : " smooth");
      EXPECT_LE(worst, 1.0) << what;
      // With integer factors OpenCV takes its integer path, which rounds exact halves up (ours: to even).
      const bool integer_factors = sw % dw == 0 && sh % dh == 0;
      if (!integer_factors)
        EXPECT_LT(differing, 0.02) << what << ": " << differing * 100 << "% of values differ by 1";
    }
  }
}

TEST(AreaResize, RejectsUpscalesAndOtherTypes) {
  EXPECT_THROW(area_downscale(test_image(10, 10, false), 11, 5), Error);
  EXPECT_THROW(area_downscale(cv::Mat(10, 10, CV_8UC1, cv::Scalar(0)), 5, 5), Error);
  EXPECT_THROW(area_downscale(test_image(10, 10, false), 0, 5), Error);
}

}  // namespace
}  // namespace wisesr::prep
