#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "core/error.h"
#include "data/augment.h"
#include "data/loader.h"
#include "data/warp_cpu.h"
#include "test_data.h"

namespace wisesr::data {
namespace {

constexpr double kPi = 3.14159265358979323846;

AugmentOptions recipe(const std::string& name) {
  AugmentOptions o;
  o.augment = parse_enum<Augment>("--data.augment", name);
  return o;
}

torch::Tensor params_of(const std::vector<SampleTransform>& ts) {
  auto p = torch::empty({static_cast<int64_t>(ts.size()), kTransformParams}, torch::kFloat);
  for (size_t i = 0; i < ts.size(); ++i) BatchTransform::store(ts[i], p, static_cast<int64_t>(i));
  return p;
}

torch::Tensor random_pixels(int64_t n, int64_t h, int64_t w, uint64_t seed = 1) {
  torch::manual_seed(seed);
  return torch::randint(0, 256, {n, h, w, 3}, torch::kUInt8);
}

// The input as the transform sees it before normalisation: NCHW float, BGR minus the caffe means.
torch::Tensor caffe(const torch::Tensor& pixels) {
  auto mean = torch::tensor({kCaffeMeanBgr[0], kCaffeMeanBgr[1], kCaffeMeanBgr[2]}).view({1, 3, 1, 1});
  return pixels.permute({0, 3, 1, 2}).flip({1}).to(torch::kFloat) - mean;
}

TEST(Augment, CaffeNormalisationIsBgrMinusImageNetMeans) {
  auto img = torch::zeros({1, 1, 1, 3}, torch::kUInt8);
  img[0][0][0][0] = 10;   // R
  img[0][0][0][1] = 20;   // G
  img[0][0][0][2] = 200;  // B
  BatchTransform t(recipe("none"), false, 1);
  auto x = t.apply(img, torch::Tensor());
  ASSERT_EQ(x.sizes(), torch::IntArrayRef({1, 3, 1, 1}));
  EXPECT_NEAR(x[0][0][0][0].item<float>(), 200 - 103.939, 1e-4);  // B first
  EXPECT_NEAR(x[0][1][0][0].item<float>(), 20 - 116.779, 1e-4);
  EXPECT_NEAR(x[0][2][0][0].item<float>(), 10 - 123.68, 1e-4);
}

TEST(Augment, ImagenetNormalisationIsRgbMeanStd) {
  auto img = torch::full({1, 1, 1, 3}, 255, torch::kUInt8);
  auto o = recipe("none");
  o.normalize = Normalize::kImagenet;
  auto x = BatchTransform(o, false, 1).apply(img, torch::Tensor());
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(x[0][c][0][0].item<float>(), (1 - kImagenetMeanRgb[c]) / kImagenetStdRgb[c], 1e-5);
  }
}

TEST(Augment, EvaluationPathIsDeterministicAndOnlyResizes) {
  auto px = random_pixels(2, 16, 16);
  BatchTransform same(recipe("keras"), /*train=*/false, 16);
  EXPECT_TRUE(torch::allclose(same.apply(px, torch::Tensor()), caffe(px), 0, 1e-4));
  BatchTransform half(recipe("keras"), false, 8);
  auto y = half.apply(px, torch::Tensor());
  EXPECT_EQ(y.sizes(), torch::IntArrayRef({2, 3, 8, 8}));
  // Antialiased 2x downscale of a constant image is the constant.
  auto flat = torch::full({1, 16, 16, 3}, 77, torch::kUInt8);
  EXPECT_TRUE(torch::allclose(half.apply(flat, torch::Tensor()),
                              caffe(torch::full({1, 8, 8, 3}, 77, torch::kUInt8)), 0, 1e-3));
  auto t = same.sample(1, 2, 3, 16, 16);
  EXPECT_EQ(t.affine, (std::array<double, 6>{1, 0, 0, 0, 1, 0}));
  EXPECT_EQ(t.brightness, -1);
}

// The warp's pixel convention: output pixel centres map exactly onto input pixel centres, so an
// identity map reproduces the input and a quarter turn equals rot90 (no half-pixel drift).
TEST(Augment, WarpMapsPixelCentresExactly) {
  auto px = random_pixels(1, 12, 12);
  BatchTransform t(recipe("keras"), true, 12);
  SampleTransform id;
  EXPECT_TRUE(torch::allclose(t.apply(px, params_of({id})), caffe(px), 0, 1e-3));
  SampleTransform quarter;  // output (u, v) shows input (x, y) = (11 - v, u): torch.rot90
  quarter.affine = {0, -1, 11, 1, 0, 0};
  auto expected = caffe(px).rot90(1, {2, 3});
  auto got = t.apply(px, params_of({quarter}));
  EXPECT_TRUE(torch::allclose(got, expected, 0, 1e-3)) << (got - expected).abs().max().item<float>();
  SampleTransform flip;  // horizontal flip
  flip.affine = {-1, 0, 11, 0, 1, 0};
  EXPECT_TRUE(torch::allclose(t.apply(px, params_of({flip})), caffe(px).flip({3}), 0, 1e-3));
}

// Keras fill_mode='nearest': positions outside the image take the nearest edge pixel.
TEST(Augment, OutsideTheImageRepeatsTheEdge) {
  auto px = random_pixels(1, 8, 8, 5);
  BatchTransform t(recipe("keras"), true, 8);
  SampleTransform far;
  far.affine = {1, 0, 1000, 0, 1, -1000};  // everything maps beyond the top-right corner
  auto got = t.apply(px, params_of({far}));
  auto corner =
      caffe(px).index({torch::indexing::Slice(), torch::indexing::Slice(), 0, 7}).view({1, 3, 1, 1});
  EXPECT_TRUE(torch::allclose(got, corner.expand({1, 3, 8, 8}), 0, 1e-3));
  // Between two pixels: bilinear (Keras interpolation_order=1).
  SampleTransform half;
  half.affine = {1, 0, 0.5, 0, 1, 0};
  auto h = t.apply(px, params_of({half}));
  auto c = caffe(px);
  auto mid = (c.index({0, 0, 3, 2}) + c.index({0, 0, 3, 3})) / 2;
  EXPECT_NEAR(h.index({0, 0, 3, 2}).item<float>(), mid.item<float>(), 1e-3);
}

// apply_channel_shift clips to the image's own range; apply_brightness_shift(scale=False) truncates to
// uint8, multiplies (PIL blend with black) and clips to 255.
TEST(Augment, ChannelShiftAndBrightnessFollowKeras) {
  auto px = torch::empty({1, 2, 2, 3}, torch::kUInt8);
  const uint8_t values[12] = {10, 40, 100, 20, 50, 60, 30, 70, 80, 90, 95, 99};
  std::memcpy(px.data_ptr<uint8_t>(), values, 12);
  AugmentOptions o = recipe("keras");
  o.brightness_min = o.brightness_max = 1;  // off
  BatchTransform shift_only(o, true, 2);
  SampleTransform st;
  st.channel_shift = 30;
  auto got = shift_only.apply(px, params_of({st}));
  auto expected = caffe((px.to(torch::kInt) + 30).clamp(10, 100).to(torch::kUInt8));
  EXPECT_TRUE(torch::allclose(got, expected, 0, 1e-3));

  BatchTransform both(recipe("keras"), true, 2);
  SampleTransform bt;
  bt.brightness = 2.9;
  auto bright = both.apply(px, params_of({bt}));
  auto ref = (px.to(torch::kDouble) * 2.9).floor().clamp_max(255).to(torch::kUInt8);
  EXPECT_TRUE(torch::allclose(bright, caffe(ref), 0, 1e-3));
}

TEST(Augment, KerasParametersCoverThePaperRanges) {
  AugmentOptions o = recipe("keras");
  o.hflip = o.vflip = false;  // so that the affine's first column is zoom_x * (cos, sin)
  BatchTransform t(o, true, 64);
  const int n = 20000;
  std::vector<int> angle_bins(8, 0);
  double zoom_min = 9, zoom_max = 0, shift_sum = 0, bright_sum = 0, bright_min = 9, bright_max = -1,
         shift_max = 0;
  for (int i = 0; i < n; ++i) {
    auto s = t.sample(7, 0, static_cast<uint64_t>(i), 64, 64);
    const double theta = std::atan2(s.affine[3], s.affine[0]);
    const double zx = std::hypot(s.affine[0], s.affine[3]);
    angle_bins[static_cast<size_t>(std::min(7.0, (theta + kPi) / (2 * kPi) * 8))]++;
    zoom_min = std::min(zoom_min, zx), zoom_max = std::max(zoom_max, zx);
    shift_sum += s.channel_shift, shift_max = std::max(shift_max, std::abs(s.channel_shift));
    bright_sum += s.brightness, bright_min = std::min(bright_min, s.brightness);
    bright_max = std::max(bright_max, s.brightness);
    // The output centre lands within the shift range (10% of 64 px per axis) of the input centre.
    const double cx = s.affine[0] * 31.5 + s.affine[1] * 31.5 + s.affine[2] - 31.5;
    const double cy = s.affine[3] * 31.5 + s.affine[4] * 31.5 + s.affine[5] - 31.5;
    ASSERT_LE(std::hypot(cx, cy), 6.4 * std::sqrt(2.0) + 1e-9);
  }
  for (int b : angle_bins) EXPECT_NEAR(b / double(n), 1.0 / 8, 0.01);  // rotation uniform over the circle
  EXPECT_GT(zoom_min, 0.8 - 1e-9);
  EXPECT_LT(zoom_min, 0.81);
  EXPECT_LT(zoom_max, 1.2 + 1e-9);
  EXPECT_GT(zoom_max, 1.19);
  EXPECT_NEAR(shift_sum / n, 0, 1.0);
  EXPECT_LE(shift_max, 50);
  EXPECT_GT(shift_max, 49.5);
  EXPECT_NEAR(bright_sum / n, 0.6, 0.01);
  EXPECT_GE(bright_min, 0);
  EXPECT_LE(bright_max, 1.2);
}

TEST(Augment, FlipsHappenHalfTheTimeIndependently) {
  AugmentOptions o = recipe("flip");
  BatchTransform t(o, true, 16);
  const int n = 20000;
  int h = 0, v = 0, both = 0;
  for (int i = 0; i < n; ++i) {
    auto s = t.sample(3, 1, static_cast<uint64_t>(i), 16, 16);
    const bool hf = s.affine[0] < 0, vf = s.affine[4] < 0;
    h += hf, v += vf, both += hf && vf;
  }
  EXPECT_NEAR(h / double(n), 0.5, 0.015);
  EXPECT_NEAR(v / double(n), 0.5, 0.015);
  EXPECT_NEAR(both / double(n), 0.25, 0.015);
  // Exact index flips, no resampling.
  auto px = random_pixels(4, 16, 16);
  std::vector<SampleTransform> ts;
  for (uint64_t r = 0; r < 4; ++r) ts.push_back(t.sample(3, 1, r, 16, 16));
  auto got = t.apply(px, params_of(ts));
  for (int64_t i = 0; i < 4; ++i) {
    auto e = caffe(px.slice(0, i, i + 1));
    if (ts[static_cast<size_t>(i)].affine[0] < 0) e = e.flip({3});
    if (ts[static_cast<size_t>(i)].affine[4] < 0) e = e.flip({2});
    EXPECT_TRUE(torch::equal(got.slice(0, i, i + 1), e));
  }
}

TEST(Augment, KerasRecipeFlipsBothWaysHalfTheTimeIndependently) {
  // The paper's recipe has horizontal_flip and vertical_flip on. Without rotation, shift and zoom the
  // affine is the flips alone: a -1 in its first column is a horizontal flip, in its second a vertical
  // one. (With a full-circle rotation both flips together are a rotation by 180 degrees, so the flip
  // rates cannot be read off the full recipe's affines.)
  AugmentOptions o = recipe("keras");
  ASSERT_TRUE(o.hflip && o.vflip) << "the keras defaults are the paper's";
  o.rotation = 0;
  o.shift = 0;
  o.zoom = 0;
  BatchTransform t(o, true, 16);
  const int n = 20000;
  int h = 0, v = 0, both = 0;
  for (int i = 0; i < n; ++i) {
    auto s = t.sample(5, 2, static_cast<uint64_t>(i), 16, 16);
    ASSERT_EQ(std::abs(s.affine[0]), 1.0);
    ASSERT_EQ(std::abs(s.affine[4]), 1.0);
    const bool hf = s.affine[0] < 0, vf = s.affine[4] < 0;
    h += hf, v += vf, both += hf && vf;
  }
  EXPECT_NEAR(h / double(n), 0.5, 0.015) << "horizontal flips";
  EXPECT_NEAR(v / double(n), 0.5, 0.015) << "vertical flips";
  EXPECT_NEAR(both / double(n), 0.25, 0.015) << "flips not independent";
}

TEST(Augment, RandomResizedCropStaysInsideWithTorchvisionRanges) {
  AugmentOptions o = recipe("imagenet");
  BatchTransform t(o, true, 32);
  const int n = 5000, w = 80, h = 60;
  double area_min = 9, area_max = 0;
  int flips = 0;
  for (int i = 0; i < n; ++i) {
    auto s = t.sample(11, 0, static_cast<uint64_t>(i), h, w);
    const double cw = std::abs(s.affine[0]) * 32, ch = s.affine[4] * 32;
    flips += s.affine[0] < 0;
    const double area = cw * ch / (w * h);
    area_min = std::min(area_min, area), area_max = std::max(area_max, area);
    ASSERT_GE(cw / ch, 0.75 - 0.06);
    ASSERT_LE(cw / ch, 4.0 / 3 + 0.06);
    for (double u : {0.0, 31.0})
      for (double v : {0.0, 31.0}) {
        const double x = s.affine[0] * u + s.affine[1] * v + s.affine[2];
        const double y = s.affine[3] * u + s.affine[4] * v + s.affine[5];
        ASSERT_GE(x, -0.5);
        ASSERT_LE(x, w - 0.5);
        ASSERT_GE(y, -0.5);
        ASSERT_LE(y, h - 0.5);
      }
  }
  EXPECT_GE(area_min, 0.07);
  EXPECT_LT(area_min, 0.12);
  EXPECT_LE(area_max, 1.0 + 1e-9);
  EXPECT_NEAR(flips / double(n), 0.5, 0.03);
}

TEST(Augment, ParametersDependOnSeedEpochAndRecordOnly) {
  BatchTransform t(recipe("keras"), true, 32);
  auto a = t.sample(1, 2, 3, 32, 32), b = t.sample(1, 2, 3, 32, 32);
  EXPECT_EQ(a.affine, b.affine);
  EXPECT_EQ(a.channel_shift, b.channel_shift);
  EXPECT_NE(a.affine, t.sample(1, 3, 3, 32, 32).affine);  // next epoch
  EXPECT_NE(a.affine, t.sample(2, 2, 3, 32, 32).affine);  // other seed
  EXPECT_NE(a.affine, t.sample(1, 2, 4, 32, 32).affine);  // other record
  // A sample's output does not depend on the batch it is in (world size, batch composition).
  auto px = random_pixels(3, 32, 32);
  std::vector<SampleTransform> ts = {t.sample(1, 0, 10, 32, 32), t.sample(1, 0, 11, 32, 32),
                                     t.sample(1, 0, 12, 32, 32)};
  auto all = t.apply(px, params_of(ts));
  auto one = t.apply(px.slice(0, 1, 2), params_of({ts[1]}));
  EXPECT_TRUE(torch::equal(all.slice(0, 1, 2), one));
}

TEST(Augment, BadOptionsAreNamed) {
  try {
    recipe("autoaugment");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--data.augment"), std::string::npos) << e.what();
  }
  auto o = recipe("keras");
  o.zoom = 1.5;
  EXPECT_THROW(BatchTransform(o, true, 8), Error);
  o.zoom = 0.2;
  o.brightness_min = 2;  // above brightness_max
  try {
    BatchTransform t(o, true, 8);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--data.brightness_min"), std::string::npos) << e.what();
  }
}

// The loader's output is the same whatever its worker count and prefetch depth, and equal to the
// transform applied to the decoded records (the GPU path transforms the same pixels + params).
TEST(Augment, LoaderTransformEqualsDeferredTransform) {
  testing::TempDir dir;
  testing::TinyDatasetSpec spec;
  spec.size = 24;
  testing::write_tiny_dataset(dir.path(), spec);
  ShardSet set(dir.path(), "train");
  std::vector<uint64_t> idx(set.size());
  std::iota(idx.begin(), idx.end(), 0);
  auto transform = std::make_shared<BatchTransform>(recipe("keras"), true, 24);
  auto run = [&](int workers, bool in_loader) {
    LoaderOptions o;
    o.batch_size = 4;
    o.workers = workers;
    o.prefetch = 1 + workers;
    o.transform = transform;
    o.delivery = in_loader ? Delivery::kHostImages : Delivery::kHostPixels;
    o.seed = 4;
    Loader loader(set, idx, o);
    std::vector<torch::Tensor> out;
    while (auto b = loader.next())
      out.push_back(in_loader ? b->images : transform->apply(b->pixels, b->params));
    return torch::cat(out);
  };
  auto a = run(0, true);  // the decode threads' fused CPU transform
  EXPECT_TRUE(torch::equal(a, run(3, true)));
  auto deferred = run(2, false);  // the batched transform, as on the GPU
  EXPECT_LT((a - deferred).abs().mean().item<double>(), 0.02);
}

// The decode threads' per-sample CPU transform and the batched one (the GPU's) compute the same thing.
// Bound: float32 rounding of the sample positions (~1e-4 px) only; where the Keras brightness step
// truncates to an integer, a value sitting on an integer boundary can land one step (x b) apart.
TEST(Augment, FusedCpuTransformMatchesTheBatchedOne) {
  const int64_t n = 6, h = 40, w = 40;
  auto px = random_pixels(n, h, w, 21);
  for (const char* name : {"none", "flip", "keras", "imagenet"}) {
    for (const char* norm : {"caffe", "imagenet"}) {
      for (int out : {40, 24}) {
        AugmentOptions o = recipe(name);
        o.normalize = parse_enum<Normalize>("--data.normalize", norm);
        for (bool train : {true, false}) {
          BatchTransform t(o, train, out);
          if (!t.fused_cpu(static_cast<int>(h), static_cast<int>(w))) {
            EXPECT_TRUE(!train || std::string(name) == "none") << name;
            continue;
          }
          std::vector<SampleTransform> ts;
          for (uint64_t r = 0; r < static_cast<uint64_t>(n); ++r) ts.push_back(t.sample(5, 1, r, h, w));
          auto batched = t.apply(px, params_of(ts));
          auto fused = torch::empty({n, 3, out, out}, torch::kFloat);
          for (int64_t i = 0; i < n; ++i) {
            t.apply_cpu(px[i].data_ptr<uint8_t>(), h, w, w * 3, ts[static_cast<size_t>(i)],
                        fused.data_ptr<float>() + i * 3 * out * out);
          }
          const auto diff = (fused - batched).abs();
          const std::string where =
              std::string(name) + "/" + norm + "/" + std::to_string(out) + (train ? "/train" : "");
          const double tol = std::string(norm) == "caffe" ? 1e-2 : 2e-4;
          const bool truncates = train && std::string(name) == "keras";
          EXPECT_LT((diff > tol).to(torch::kDouble).mean().item<double>(), truncates ? 0.01 : 1e-9) << where;
          EXPECT_LE(diff.max().item<double>(), truncates ? 2.5 : tol) << where;
        }
      }
    }
  }
}

// An image flush against an inaccessible (PROT_NONE) page, after its last byte or before its first:
// a kernel reading outside the image faults instead of passing by luck.
class GuardedImage {
 public:
  GuardedImage(int h, int w, size_t row_bytes, uint32_t seed, bool guard_after = true)
      : row_bytes_(row_bytes) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    span_ = static_cast<size_t>(h - 1) * row_bytes + static_cast<size_t>(w) * 3;
    const size_t pages = (span_ + page - 1) / page;
    size_ = (pages + 1) * page;
    base_ = static_cast<uint8_t*>(
        mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    EXPECT_NE(base_, MAP_FAILED);
    EXPECT_EQ(mprotect(guard_after ? base_ + pages * page : base_, page, PROT_NONE), 0);
    data_ = guard_after ? base_ + pages * page - span_ : base_ + page;
    std::mt19937 gen(seed);
    for (size_t i = 0; i < span_; ++i) data_[i] = static_cast<uint8_t>(gen() & 0xFF);
  }
  ~GuardedImage() { munmap(base_, size_); }
  GuardedImage(const GuardedImage&) = delete;
  GuardedImage& operator=(const GuardedImage&) = delete;
  const uint8_t* data() const { return data_; }
  uint8_t at(int y, int x, int c) const { return data_[static_cast<size_t>(y) * row_bytes_ + x * 3 + c]; }

 private:
  size_t row_bytes_, span_ = 0, size_ = 0;
  uint8_t* base_ = nullptr;
  uint8_t* data_ = nullptr;
};

detail::WarpSpec warp_spec(const GuardedImage& img, int h, int w, size_t row_bytes, int s) {
  detail::WarpSpec sp;
  sp.rgb = img.data(), sp.in_h = h, sp.in_w = w, sp.row_bytes = row_bytes, sp.out_size = s;
  return sp;
}

// The vector kernel (AVX2 on x86-64 CPUs that have it) computes what the scalar one does, for every
// image shape (1 pixel up, padded rows), output size (vector tails), transform (inside, across and far
// outside the image: edge clamping), channel order, channel shift and brightness. Bound: float
// rounding (FMA contraction) of positions (~1e-5 px, times a gradient of up to 255 per px) and weights,
// below 1e-2 of a grey level; after the brightness
// step's truncation, a value on an integer boundary can move by ceil(factor) grey levels on rare pixels.
TEST(WarpKernel, VectorKernelMatchesScalar) {
  if (detail::best_isa() == detail::Isa::scalar) GTEST_SKIP() << "this CPU has no vector kernel";
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> unit(-1, 1);
  struct Shape {
    int h, w, pad;
  };
  int cases = 0;
  for (const Shape sh : {Shape{1, 1, 0}, Shape{1, 2, 0}, Shape{2, 1, 5}, Shape{3, 5, 0}, Shape{40, 40, 0},
                         Shape{37, 53, 7}, Shape{64, 48, 1}}) {
    const size_t row_bytes = static_cast<size_t>(sh.w) * 3 + static_cast<size_t>(sh.pad);
    GuardedImage after(sh.h, sh.w, row_bytes, static_cast<uint32_t>(sh.h * 100 + sh.w), true);
    GuardedImage before(sh.h, sh.w, row_bytes, static_cast<uint32_t>(sh.h * 100 + sh.w), false);
    for (int s : {1, 7, 8, 9, 24, 41}) {
      const GuardedImage& img = s % 2 ? after : before;
      for (int variant = 0; variant < 8; ++variant) {
        auto sp = warp_spec(img, sh.h, sh.w, row_bytes, s);
        const float rot = unit(gen) * 3.2f, zoom = 1.0f + unit(gen) * (variant == 7 ? 3.0f : 0.3f);
        const float sx = static_cast<float>(sh.w) / static_cast<float>(s) * zoom;
        const float sy = static_cast<float>(sh.h) / static_cast<float>(s) * zoom;
        sp.affine[0] = std::cos(rot) * sx, sp.affine[1] = -std::sin(rot) * sy;
        sp.affine[3] = std::sin(rot) * sx, sp.affine[4] = std::cos(rot) * sy;
        sp.affine[2] = static_cast<float>(sh.w) * (0.5f + 0.6f * unit(gen));
        sp.affine[5] = static_cast<float>(sh.h) * (0.5f + 0.6f * unit(gen));
        const bool caffe = variant % 2 == 0;
        for (int c = 0; c < 3; ++c) {
          sp.src_channel[c] = caffe ? 2 - c : c;
          sp.mean[c] = caffe ? 100.0f + 10.0f * static_cast<float>(c) : 120.0f;
          sp.scale[c] = caffe ? 1.0f : 0.017f;
        }
        sp.channel_shift = variant & 2, sp.shift = 50 * unit(gen);
        sp.brightness = variant & 4, sp.factor = 0.6f + 0.6f * std::abs(unit(gen));
        const size_t n = static_cast<size_t>(3) * s * s;
        std::vector<float> scalar(n + 8, -1e9f), vec(n + 8, -1e9f);  // + 8: nothing written past the end
        detail::warp_normalize(sp, scalar.data(), detail::Isa::scalar);
        detail::warp_normalize(sp, vec.data(), detail::best_isa());
        const double step =
            (sp.brightness ? std::ceil(sp.factor) : 0.0) * sp.scale[0] * 1.0001 + 1e-2 * sp.scale[0];
        size_t off = 0;
        for (size_t i = 0; i < n; ++i) {
          const double d = std::abs(static_cast<double>(scalar[i]) - vec[i]);
          EXPECT_LE(d, step) << "shape " << sh.w << "x" << sh.h << " s " << s << " variant " << variant
                             << " at " << i;
          off += d > 1e-2 * sp.scale[0];
        }
        EXPECT_LE(static_cast<double>(off), 0.01 * static_cast<double>(n) + 1)
            << sh.w << "x" << sh.h << " s " << s;
        for (size_t i = n; i < n + 8; ++i) ASSERT_EQ(vec[i], -1e9f) << "wrote past the output";
        ++cases;
      }
    }
  }
  EXPECT_EQ(cases, 7 * 6 * 8);
}

// Every output pixel mapped onto the image's last pixel (where a careless gather overruns) and onto
// its first: both kernels return exactly that pixel and read nothing outside the image.
TEST(WarpKernel, ImageCornersAreExact) {
  for (auto isa : {detail::Isa::scalar, detail::best_isa()}) {
    for (int pad : {0, 4}) {
      const int h = 9, w = 11;
      const size_t row_bytes = static_cast<size_t>(w) * 3 + static_cast<size_t>(pad);
      for (bool last : {true, false}) {
        GuardedImage img(h, w, row_bytes, 3, /*guard_after=*/last);
        auto sp = warp_spec(img, h, w, row_bytes, 13);
        sp.affine[0] = sp.affine[1] = sp.affine[3] = sp.affine[4] = 0;
        sp.affine[2] = last ? 1e6f : -1e6f;  // clamped onto the edge
        sp.affine[5] = last ? 1e6f : -1e6f;
        std::vector<float> out(3 * 13 * 13);
        detail::warp_normalize(sp, out.data(), isa);
        const int y = last ? h - 1 : 0, x = last ? w - 1 : 0;
        for (int c = 0; c < 3; ++c)
          for (int i = 0; i < 13 * 13; ++i)
            ASSERT_EQ(out[static_cast<size_t>(c * 13 * 13 + i)], static_cast<float>(img.at(y, x, c)))
                << detail::isa_name(isa) << " channel " << c << " pixel " << i;
      }
    }
  }
}

}  // namespace
}  // namespace wisesr::data
