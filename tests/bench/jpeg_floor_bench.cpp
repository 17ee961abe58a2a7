// The floor of `wisesr prep` per core: for each input JPEG, the unavoidable work of turning it into a
// 512x512 q90 record, timed step by step on the image in memory (no file I/O, no checksum, no HDF5, no
// process start-up; best of 5 per image, medians over the images):
//   decode   libjpeg-turbo, accurate IDCT, at the DCT-domain reduction prep picks (the largest of 1/2, 1/4,
//            1/8 that still covers the target)
//   resize   prep's own resize for that image (data_prep/area_resize.h, or OpenCV's INTER_AREA for integer
//            factors, as image_codec.cpp chooses)
//   encode   libjpeg-turbo, 4:2:0 q90, accurate DCT (as prep stores records)
// plus the full-size decode at every scale k/8 that covers the target (why other scales do not help).
// Built with the tests where OpenCV is (target wisesr_prep_floor); tests/bench/prep_bench.sh runs it.
//   build/tests/wisesr_prep_floor DIR/*.jpg
#include <turbojpeg.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "area_resize.h"

namespace {

constexpr int kOut = 512;
constexpr int kQuality = 90;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

template <typename F>
double best_ms(F&& f, int reps = 5) {
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    const auto t = std::chrono::steady_clock::now();
    f();
    best = std::min(best,
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count());
  }
  return best;
}

// What image_codec.cpp's resize_to does for a squash to kOut x kOut.
cv::Mat prep_resize(const cv::Mat& img) {
  if (img.cols == kOut && img.rows == kOut) return img;
  const bool down = kOut <= img.cols && kOut <= img.rows;
  if (down && !(img.cols % kOut == 0 && img.rows % kOut == 0))
    return wisesr::prep::area_downscale(img, kOut, kOut);
  cv::Mat out;
  cv::resize(img, out, cv::Size(kOut, kOut), 0, 0, down ? cv::INTER_AREA : cv::INTER_CUBIC);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  tjhandle dec = tjInitDecompress(), enc = tjInitCompress();
  std::map<int, std::vector<double>> decode_ms;  // scale numerator (of 8) -> per image
  std::vector<double> prep_decode_ms, resize_ms, encode_ms, total_ms;
  std::vector<unsigned char> encoded(tjBufSize(kOut, kOut, TJSAMP_420));
  for (int a = 1; a < argc; ++a) {
    std::ifstream f(argv[a], std::ios::binary);
    std::vector<unsigned char> jpeg((std::istreambuf_iterator<char>(f)), {});
    int w = 0, h = 0, sub = 0, cs = 0;
    if (tjDecompressHeader3(dec, jpeg.data(), jpeg.size(), &w, &h, &sub, &cs) != 0) {
      std::fprintf(stderr, "%s: %s\n", argv[a], tjGetErrorStr2(dec));
      return 1;
    }
    cv::Mat rgb(h, w, CV_8UC3);
    for (int num = 8; num >= 1; --num) {
      const int sw = (w * num + 7) / 8, sh = (h * num + 7) / 8;
      if (sw < kOut || sh < kOut) break;
      decode_ms[num].push_back(best_ms([&] {
        tjDecompress2(dec, jpeg.data(), jpeg.size(), rgb.data, sw, 0, sh, TJPF_RGB, TJFLAG_ACCURATEDCT);
      }));
    }
    int r = 1;
    for (int c : {8, 4, 2})
      if (w / c >= kOut && h / c >= kOut) {
        r = c;
        break;
      }
    const tjscalingfactor scale{1, r};
    cv::Mat img(TJSCALED(h, scale), TJSCALED(w, scale), CV_8UC3);
    const double d = best_ms([&] {
      tjDecompress2(dec, jpeg.data(), jpeg.size(), img.data, img.cols, 0, img.rows, TJPF_RGB,
                    TJFLAG_ACCURATEDCT);
    });
    cv::Mat small;
    const double rs = best_ms([&] { small = prep_resize(img); });
    const double e = best_ms([&] {
      unsigned char* buf = encoded.data();
      unsigned long size = encoded.size();
      tjCompress2(enc, small.data, kOut, static_cast<int>(small.step[0]), kOut, TJPF_RGB, &buf, &size,
                  TJSAMP_420, kQuality, TJFLAG_ACCURATEDCT | TJFLAG_NOREALLOC);
    });
    prep_decode_ms.push_back(d);
    resize_ms.push_back(rs);
    encode_ms.push_back(e);
    total_ms.push_back(d + rs + e);
  }
  const double floor_ms = median(total_ms);
  std::printf("%d images -> %dx%d q%d, medians per image: decode %.2f ms + resize %.2f ms + encode %.2f ms\n",
              argc - 1, kOut, kOut, kQuality, median(prep_decode_ms), median(resize_ms), median(encode_ms));
  std::printf("floor: %.3f ms per image = %.1f images/s/core (decode + resize + encode)\n", floor_ms,
              1000.0 / floor_ms);
  for (auto it = decode_ms.rbegin(); it != decode_ms.rend(); ++it)
    std::printf("  full decode at %d/8: %.2f ms\n", it->first, median(it->second));
  tjDestroy(dec);
  tjDestroy(enc);
}
