#include "area_resize.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/error.h"

// Build with -ffp-contract=off (data_prep/CMakeLists.txt): a fused multiply-add in one clone and not the
// other would make stored pixels depend on the CPU.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define WISESR_AREA_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define WISESR_AREA_CLONES
#endif

namespace wisesr::prep {
namespace {

// Source indices and weights of one output pixel along one axis: weights[k] applies to source
// start + k. Every output of an axis gets the same number of taps (zero-padded), so the inner loops
// have a fixed trip count.
struct Taps {
  int count = 0;               // taps per output
  std::vector<int> start;      // per output
  std::vector<float> weights;  // per output, `count` each
};

// Output d covers source [d * scale, (d + 1) * scale): whole pixels inside weigh 1 / cell, the partial
// pixels at either end their covered fraction / cell. Slivers under 1e-3 of a pixel are dropped, as
// OpenCV does, so the weights match its INTER_AREA.
Taps area_taps(int src_size, int dst_size) {
  const double scale = static_cast<double>(src_size) / dst_size;
  std::vector<std::vector<std::pair<int, float>>> per(static_cast<size_t>(dst_size));
  size_t count = 1;
  for (int d = 0; d < dst_size; ++d) {
    const double lo = d * scale, hi = lo + scale;
    const double cell = std::min(scale, src_size - lo);
    int first = static_cast<int>(std::ceil(lo)), last = static_cast<int>(std::floor(hi));
    last = std::min(last, src_size - 1);
    first = std::min(first, last);
    auto& taps = per[static_cast<size_t>(d)];
    if (first - lo > 1e-3) taps.emplace_back(first - 1, static_cast<float>((first - lo) / cell));
    for (int s = first; s < last; ++s) taps.emplace_back(s, static_cast<float>(1.0 / cell));
    if (hi - last > 1e-3)
      taps.emplace_back(last, static_cast<float>(std::min(std::min(hi - last, 1.0), cell) / cell));
    count = std::max(count, taps.size());
  }
  Taps t;
  t.count = static_cast<int>(count);
  t.start.resize(static_cast<size_t>(dst_size));
  t.weights.assign(static_cast<size_t>(dst_size) * count, 0.0f);
  for (int d = 0; d < dst_size; ++d) {
    const auto& taps = per[static_cast<size_t>(d)];
    // Near the far edge, start early enough that all `count` taps stay inside the source.
    const int start = std::min(taps.front().first, src_size - t.count);
    t.start[static_cast<size_t>(d)] = start;
    for (const auto& [s, w] : taps)
      t.weights[static_cast<size_t>(d) * count + static_cast<size_t>(s - start)] = w;
  }
  return t;
}

// acc[i] = w * row[i] (first) or acc[i] += w * row[i], over a whole interleaved row.
WISESR_AREA_CLONES void blend_row(const uint8_t* row, float w, float* acc, int n, bool first) {
  if (first) {
    for (int i = 0; i < n; ++i) acc[i] = w * static_cast<float>(row[i]);
  } else {
    for (int i = 0; i < n; ++i) acc[i] += w * static_cast<float>(row[i]);
  }
}

uint8_t to_u8(float v) {
  const long r = std::lrint(v);  // round half to even, as cv::saturate_cast
  return static_cast<uint8_t>(std::clamp(r, 0L, 255L));
}

// out pixel x = sum_k weights[x][k] * row pixel (start[x] + k), 3 channels.
template <int K>
WISESR_AREA_CLONES void blend_columns(const float* row, const Taps& t, uint8_t* out, int width) {
  const int k_count = K > 0 ? K : t.count;
  for (int x = 0; x < width; ++x) {
    const float* p = row + 3 * t.start[static_cast<size_t>(x)];
    const float* w = t.weights.data() + static_cast<size_t>(x) * static_cast<size_t>(k_count);
    float b = 0, g = 0, r = 0;
    for (int k = 0; k < k_count; ++k) {
      b += w[k] * p[3 * k];
      g += w[k] * p[3 * k + 1];
      r += w[k] * p[3 * k + 2];
    }
    out[3 * x] = to_u8(b);
    out[3 * x + 1] = to_u8(g);
    out[3 * x + 2] = to_u8(r);
  }
}

}  // namespace

cv::Mat area_downscale(const cv::Mat& src, int width, int height) {
  WISESR_CHECK(src.type() == CV_8UC3, "area_downscale needs an 8-bit 3-channel image");
  WISESR_CHECK(width >= 1 && height >= 1 && width <= src.cols && height <= src.rows,
               "area_downscale: ", src.cols, "x", src.rows, " -> ", width, "x", height,
               " is not a downscale");
  const Taps xt = area_taps(src.cols, width), yt = area_taps(src.rows, height);
  const int n = src.cols * 3;
  std::vector<float> row(static_cast<size_t>(n));
  cv::Mat dst(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    const size_t base = static_cast<size_t>(y) * static_cast<size_t>(yt.count);
    bool first = true;
    for (int k = 0; k < yt.count; ++k) {
      const float w = yt.weights[base + static_cast<size_t>(k)];
      if (w == 0.0f) continue;
      blend_row(src.ptr<uint8_t>(yt.start[static_cast<size_t>(y)] + k), w, row.data(), n, first);
      first = false;
    }
    uint8_t* out = dst.ptr<uint8_t>(y);
    switch (xt.count) {
      case 1:
        blend_columns<1>(row.data(), xt, out, width);
        break;
      case 2:
        blend_columns<2>(row.data(), xt, out, width);
        break;
      case 3:
        blend_columns<3>(row.data(), xt, out, width);
        break;
      case 4:
        blend_columns<4>(row.data(), xt, out, width);
        break;
      default:
        blend_columns<0>(row.data(), xt, out, width);
        break;
    }
  }
  return dst;
}

}  // namespace wisesr::prep
