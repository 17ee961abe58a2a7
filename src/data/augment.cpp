#include "data/augment.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "data/sampler.h"
#include "data/warp_cpu.h"

namespace wisesr::data {
namespace {

namespace F = torch::nn::functional;

constexpr double kPi = 3.14159265358979323846;

// Uniform draws of one sample: draw k of (seed, epoch, record) is a fixed number, whoever asks.
class SampleRng {
 public:
  SampleRng(uint64_t seed, uint64_t epoch, uint64_t record)
      : key_(mix64(mix64(seed ^ 0xA06A06u) ^ mix64(epoch * 0x9E3779B97F4A7C15ull + 1) ^
                   mix64(record ^ 0x5EEDu))) {}
  double uniform(uint64_t k) const {  // [0, 1)
    return static_cast<double>(mix64(key_ + (k + 1) * 0xD1B54A32D192ED03ull) >> 11) * 0x1.0p-53;
  }
  double uniform(uint64_t k, double lo, double hi) const { return lo + (hi - lo) * uniform(k); }
  bool coin(uint64_t k) const { return uniform(k) < 0.5; }
  int64_t integer(uint64_t k, int64_t lo, int64_t hi) const {  // [lo, hi]
    return lo + static_cast<int64_t>(uniform(k) * static_cast<double>(hi - lo + 1));
  }

 private:
  uint64_t key_;
};

// 2x3 affine maps as 3x3 homogeneous matrices (row-major), composed right to left.
struct Mat3 {
  double m[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  static Mat3 of(double a, double b, double c, double d, double e, double f) {
    Mat3 r;
    r.m[0] = a, r.m[1] = b, r.m[2] = c, r.m[3] = d, r.m[4] = e, r.m[5] = f;
    return r;
  }
  Mat3 operator*(const Mat3& o) const {
    Mat3 r;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j)
        r.m[i * 3 + j] = m[i * 3] * o.m[j] + m[i * 3 + 1] * o.m[3 + j] + m[i * 3 + 2] * o.m[6 + j];
    return r;
  }
};

// Output pixel (S x S) -> the pixel of an in_h x in_w image it shows when the whole image is resized
// to S x S (pixel centres aligned: half-pixel convention of cv2/PIL/torch resize).
Mat3 resize_map(int s, double in_h, double in_w, double y0 = 0, double x0 = 0, double h = -1, double w = -1) {
  if (h < 0) h = in_h, w = in_w;
  const double sx = w / s, sy = h / s;
  return Mat3::of(sx, 0, x0 + 0.5 * sx - 0.5, 0, sy, y0 + 0.5 * sy - 0.5);
}

Mat3 flip_map(int s, bool hflip, bool vflip) {
  return Mat3::of(hflip ? -1 : 1, 0, hflip ? s - 1 : 0, 0, vflip ? -1 : 1, vflip ? s - 1 : 0);
}

}  // namespace

uint64_t crop_offset(uint64_t seed, uint64_t epoch, uint64_t record, int axis) {
  return mix64(mix64(seed ^ 0xC409u) ^ mix64(epoch * 2 + static_cast<uint64_t>(axis)) ^ mix64(record + 0x51));
}

BatchTransform::BatchTransform(AugmentOptions options, bool train, int out_size)
    : opt_(std::move(options)), train_(train), out_size_(out_size) {
  opt_.validate();
  WISESR_CHECK(out_size_ >= 1, "output image size must be >= 1, got ", out_size_);
}

SampleTransform BatchTransform::sample(uint64_t seed, uint64_t epoch, uint64_t record, int in_h,
                                       int in_w) const {
  const int s = out_size_;
  SampleTransform t;
  Mat3 m = resize_map(s, in_h, in_w);
  const SampleRng rng(seed, epoch, record);
  if (!train_ || opt_.augment == Augment::kNone) {
    // identity up to resizing
  } else if (opt_.augment == Augment::kFlip) {
    m = m * flip_map(s, opt_.hflip && rng.coin(0), opt_.vflip && rng.coin(1));
  } else if (opt_.augment == Augment::kKeras) {
    // ImageDataGenerator.get_random_transform, then apply_transform: the affine (rotation, shift,
    // zoom about the image centre) maps output to input coordinates; flips come after it in Keras,
    // i.e. they act on output coordinates first.
    const double theta = rng.uniform(0, -opt_.rotation, opt_.rotation) * kPi / 180;
    const double tx = rng.uniform(1, -opt_.shift, opt_.shift) * in_w;
    const double ty = rng.uniform(2, -opt_.shift, opt_.shift) * in_h;
    const double zx = rng.uniform(3, 1 - opt_.zoom, 1 + opt_.zoom);
    const double zy = rng.uniform(4, 1 - opt_.zoom, 1 + opt_.zoom);
    const bool hflip = opt_.hflip && rng.coin(5), vflip = opt_.vflip && rng.coin(6);
    const double cx = in_w / 2.0 - 0.5, cy = in_h / 2.0 - 0.5;
    const double c = std::cos(theta), sn = std::sin(theta);
    const Mat3 keras = Mat3::of(1, 0, cx, 0, 1, cy) * Mat3::of(c, -sn, 0, sn, c, 0) *
                       Mat3::of(1, 0, tx, 0, 1, ty) * Mat3::of(zx, 0, 0, 0, zy, 0) *
                       Mat3::of(1, 0, -cx, 0, 1, -cy);
    m = keras * m * flip_map(s, hflip, vflip);
    if (opt_.channel_shift > 0) t.channel_shift = rng.uniform(7, -opt_.channel_shift, opt_.channel_shift);
    if (opt_.brightness_min != 1 || opt_.brightness_max != 1) {
      t.brightness = rng.uniform(8, opt_.brightness_min, opt_.brightness_max);
    }
  } else {  // imagenet: torchvision's RandomResizedCrop.get_params, then a horizontal flip
    const double area = static_cast<double>(in_h) * in_w;
    const double log_r = std::log(opt_.crop_ratio_max);
    int64_t ch = 0, cw = 0, y0 = 0, x0 = 0;
    bool found = false;
    for (uint64_t attempt = 0; attempt < 10 && !found; ++attempt) {
      const uint64_t k = 1 + attempt * 4;
      const double target = area * rng.uniform(k, opt_.crop_scale_min, 1.0);
      const double aspect = std::exp(rng.uniform(k + 1, -log_r, log_r));
      cw = std::llround(std::sqrt(target * aspect));
      ch = std::llround(std::sqrt(target / aspect));
      if (cw > 0 && cw <= in_w && ch > 0 && ch <= in_h) {
        y0 = rng.integer(k + 2, 0, in_h - ch);
        x0 = rng.integer(k + 3, 0, in_w - cw);
        found = true;
      }
    }
    if (!found) {  // central crop at the nearest allowed aspect ratio
      const double ratio = static_cast<double>(in_w) / in_h;
      cw = in_w, ch = in_h;
      if (ratio < 1 / opt_.crop_ratio_max) ch = std::llround(cw * opt_.crop_ratio_max);
      if (ratio > opt_.crop_ratio_max) cw = std::llround(ch * opt_.crop_ratio_max);
      y0 = (in_h - ch) / 2, x0 = (in_w - cw) / 2;
    }
    m = resize_map(s, in_h, in_w, static_cast<double>(y0), static_cast<double>(x0), static_cast<double>(ch),
                   static_cast<double>(cw)) *
        flip_map(s, opt_.hflip && rng.coin(0), false);
  }
  for (int i = 0; i < 6; ++i) t.affine[static_cast<size_t>(i)] = m.m[i];
  return t;
}

void BatchTransform::store(const SampleTransform& t, torch::Tensor& params, int64_t i) {
  auto row = params.accessor<float, 2>()[i];
  for (int k = 0; k < 6; ++k) row[k] = static_cast<float>(t.affine[static_cast<size_t>(k)]);
  row[6] = static_cast<float>(t.channel_shift);
  row[7] = static_cast<float>(t.brightness);
}

torch::Tensor BatchTransform::apply(const torch::Tensor& pixels, const torch::Tensor& params) const {
  WISESR_CHECK(pixels.dim() == 4 && pixels.size(3) == 3 && pixels.scalar_type() == torch::kUInt8,
               "BatchTransform expects (N,H,W,3) uint8 pixels, got ", pixels.sizes());
  const int64_t n = pixels.size(0), h = pixels.size(1), w = pixels.size(2), s = out_size_;
  auto x = pixels.permute({0, 3, 1, 2}).to(torch::kFloat);  // (N,3,H,W) RGB, 0..255
  const bool random = train_ && opt_.augment != Augment::kNone;
  torch::Tensor p;
  if (random && n > 0) {
    WISESR_CHECK(params.dim() == 2 && params.size(0) == n && params.size(1) == kTransformParams,
                 "BatchTransform expects (", n, ",", kTransformParams, ") params, got ", params.sizes());
    p = params.to(x.device(), torch::kFloat);
  }
  if (random && n > 0 && opt_.augment == Augment::kFlip && s == h && s == w) {
    // Flips alone are exact index maps: no resampling. A flip shows up as a -1 in the affine.
    auto hf = (p.select(1, 0) < 0).view({n, 1, 1, 1}), vf = (p.select(1, 4) < 0).view({n, 1, 1, 1});
    x = torch::where(hf, x.flip({3}), x);
    x = torch::where(vf, x.flip({2}), x);
  } else if (random && n > 0) {
    // Output pixel (u, v) samples the input at A (u, v, 1); coordinates are clamped into the image
    // (Keras fill_mode='nearest' = scipy mode 'nearest'), then bilinear (Keras interpolation_order=1).
    auto col = [&](int k) { return p.select(1, k).view({n, 1, 1}); };
    auto o = x.options();
    auto u = torch::arange(s, o).view({1, 1, s}), v = torch::arange(s, o).view({1, s, 1});
    auto gx = (col(0) * u + col(1) * v + col(2)).clamp(0, static_cast<double>(w - 1));
    auto gy = (col(3) * u + col(4) * v + col(5)).clamp(0, static_cast<double>(h - 1));
    gx = w > 1 ? gx * (2.0 / static_cast<double>(w - 1)) - 1 : gx * 0;  // align_corners: -1..1 = centres
    gy = h > 1 ? gy * (2.0 / static_cast<double>(h - 1)) - 1 : gy * 0;
    x = F::grid_sample(
        x, torch::stack({gx, gy}, -1),
        F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(true));
    if (opt_.augment == Augment::kKeras && opt_.channel_shift > 0) {
      // apply_channel_shift: one offset for every channel, clipped to the image's own range.
      auto lo = x.amin({1, 2, 3}, true), hi = x.amax({1, 2, 3}, true);
      x = torch::min(torch::max(x + p.select(1, 6).view({n, 1, 1, 1}), lo), hi);
    }
    if (opt_.augment == Augment::kKeras && (opt_.brightness_min != 1 || opt_.brightness_max != 1)) {
      // apply_brightness_shift(scale=False): to uint8 (truncation), PIL ImageEnhance.Brightness
      // (blend with black: trunc(b * x), clipped to 255), back to float.
      // A negative factor (a sample built by hand) means no brightness change.
      auto b = p.select(1, 7).view({n, 1, 1, 1});
      x = torch::where(b < 0, x, (x.floor() * b).clamp(0, 255).floor());
    }
  } else if (s != h || s != w) {
    x = F::interpolate(x, F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{s, s})
                              .mode(torch::kBilinear)
                              .align_corners(false)
                              .antialias(true));
  }
  auto o = x.options();
  if (opt_.normalize == Normalize::kCaffe) {
    auto mean = torch::tensor({kCaffeMeanBgr[0], kCaffeMeanBgr[1], kCaffeMeanBgr[2]}, o).view({1, 3, 1, 1});
    return (x.flip({1}) - mean).contiguous();
  }
  auto mean =
      torch::tensor({kImagenetMeanRgb[0], kImagenetMeanRgb[1], kImagenetMeanRgb[2]}, o).view({1, 3, 1, 1});
  auto stdev =
      torch::tensor({kImagenetStdRgb[0], kImagenetStdRgb[1], kImagenetStdRgb[2]}, o).view({1, 3, 1, 1});
  return ((x * (1.0 / 255) - mean) / stdev).contiguous();
}

bool BatchTransform::fused_cpu(int in_h, int in_w) const {
  const bool random = train_ && opt_.augment != Augment::kNone;
  return random || (in_h == out_size_ && in_w == out_size_);
}

void BatchTransform::apply_cpu(const uint8_t* rgb, int in_h, int in_w, size_t row_bytes,
                               const SampleTransform& t, float* out) const {
  WISESR_CHECK(fused_cpu(in_h, in_w), "apply_cpu: resizing ", in_w, "x", in_h, " to ", out_size_,
               " without augmentation is done by apply()");
  const int s = out_size_;
  const size_t plane = static_cast<size_t>(s) * s;
  // Normalisation: channel c of the output (BGR for caffe) = (value - mean) * scale.
  const bool caffe = opt_.normalize == Normalize::kCaffe;
  float mean[3], scale[3];
  int src_channel[3];
  for (int c = 0; c < 3; ++c) {
    src_channel[c] = caffe ? 2 - c : c;
    mean[c] = caffe ? static_cast<float>(kCaffeMeanBgr[c]) : static_cast<float>(kImagenetMeanRgb[c] * 255);
    scale[c] = caffe ? 1.0f : static_cast<float>(1.0 / (255 * kImagenetStdRgb[c]));
  }
  const bool random = train_ && opt_.augment != Augment::kNone;
  const bool shift = random && opt_.augment == Augment::kKeras && opt_.channel_shift > 0;
  const bool bright = random && opt_.augment == Augment::kKeras &&
                      (opt_.brightness_min != 1 || opt_.brightness_max != 1) && t.brightness >= 0;
  auto emit = [&](float v0, float v1, float v2, size_t at) {
    const float v[3] = {v0, v1, v2};
    for (int c = 0; c < 3; ++c) out[c * plane + at] = (v[src_channel[c]] - mean[c]) * scale[c];
  };
  if (!random || (opt_.augment == Augment::kFlip && in_h == s && in_w == s)) {
    // Same size, at most exact flips: a copy with normalisation.
    const bool hf = t.affine[0] < 0, vf = t.affine[4] < 0;
    for (int v = 0; v < s; ++v) {
      const uint8_t* row = rgb + static_cast<size_t>(vf ? s - 1 - v : v) * row_bytes;
      for (int u = 0; u < s; ++u) {
        const uint8_t* px = row + static_cast<size_t>(hf ? s - 1 - u : u) * 3;
        emit(px[0], px[1], px[2], static_cast<size_t>(v) * s + u);
      }
    }
    return;
  }
  // The warp, the Keras point operations and the normalisation: data/warp_cpu.h (AVX2 where present).
  detail::WarpSpec spec;
  spec.rgb = rgb, spec.in_h = in_h, spec.in_w = in_w, spec.row_bytes = row_bytes, spec.out_size = s;
  for (int k = 0; k < 6; ++k) spec.affine[k] = static_cast<float>(t.affine[static_cast<size_t>(k)]);
  for (int c = 0; c < 3; ++c)
    spec.src_channel[c] = src_channel[c], spec.mean[c] = mean[c], spec.scale[c] = scale[c];
  spec.channel_shift = shift, spec.shift = static_cast<float>(t.channel_shift);
  spec.brightness = bright, spec.factor = static_cast<float>(t.brightness);
  detail::warp_normalize(spec, out, detail::best_isa());
}

}  // namespace wisesr::data
