// --data.decode: choosing the decoder, and nvJPEG against libjpeg-turbo on the same bytes. The NvJpeg.*
// tests need a CUDA GPU and a build with nvJPEG; they skip (with the reason) elsewhere.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <numeric>

#include "core/error.h"
#include "data/device_feed.h"
#include "data/jpeg_decoder.h"
#include "data/loader.h"
#include "data/nvjpeg_decoder.h"
#include "test_data.h"

namespace wisesr::data {
namespace {

using testing::error_of;  // tests/support/test_data.h

TEST(Decode, PlanOnTheCpuAndForRawShards) {
  const torch::Device cpu(torch::kCPU), cuda(torch::kCUDA, 0);
  EXPECT_EQ(plan_decode(Decode::kAuto, cpu, "jpeg").mode, "cpu");
  EXPECT_EQ(plan_decode(Decode::kAuto, cpu, "jpeg").gpu, nullptr);
  EXPECT_EQ(plan_decode(Decode::kCpu, cpu, "jpeg").mode, "cpu");
  EXPECT_EQ(plan_decode(Decode::kNvjpeg, cpu, "raw").mode, "none");  // nothing to decode
  EXPECT_EQ(plan_decode(Decode::kAuto, cuda, "raw").mode, "none");
  const std::string m = error_of([&] { plan_decode(Decode::kNvjpeg, cpu, "jpeg"); });
  EXPECT_NE(m.find("--data.decode nvjpeg needs a CUDA device"), std::string::npos) << m;
  const std::string bad = error_of([&] { parse_enum<Decode>("--data.decode", "gpu"); });
  EXPECT_NE(bad.find("--data.decode must be auto, cpu or nvjpeg"), std::string::npos) << bad;
  // The CPU plan leaves the loader as before: the transform in the loader on a CPU, pinned pixels for a GPU.
  LoaderOptions o;
  set_delivery(o, cpu, plan_decode(Decode::kAuto, cpu, "jpeg"));
  EXPECT_EQ(o.delivery, Delivery::kHostImages);
  EXPECT_FALSE(o.pin_memory);
  EXPECT_EQ(o.gpu_decoder, nullptr);
  set_delivery(o, cuda, DecodePlan{});
  EXPECT_EQ(o.delivery, Delivery::kHostPixels);
  EXPECT_TRUE(o.pin_memory);
  EXPECT_EQ(o.gpu_decoder, nullptr);
}

TEST(Decode, NvjpegWithoutAGpuOrWithoutTheLibraryIsAClearError) {
  if (torch::cuda::is_available() && nvjpeg_compiled()) GTEST_SKIP() << "this machine can decode with nvJPEG";
  const std::string m = error_of([] { GpuJpegDecoder d(0); });
  EXPECT_NE(m.find(nvjpeg_compiled() ? "no CUDA device 0" : "this build has no nvJPEG"), std::string::npos)
      << m;
  // auto falls back to the CPU (with a warning saying why).
  EXPECT_EQ(plan_decode(Decode::kAuto, torch::Device(torch::kCUDA, 0), "jpeg").mode, "cpu");
}

#define WISESR_REQUIRE_NVJPEG()                                         \
  do {                                                                  \
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA GPU";    \
    if (!nvjpeg_compiled()) GTEST_SKIP() << "this build has no nvJPEG"; \
  } while (false)

/// Smooth colour waves plus fine texture, different per channel (so a channel swap shows).
std::vector<uint8_t> wave_image(int h, int w, int seed) {
  std::vector<uint8_t> rgb(static_cast<size_t>(h) * w * 3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < 3; ++c) {
        const double v = 128 + 70 * std::sin(x / (5.0 + c) + seed) + 40 * std::cos(y / (3.0 + 2 * c)) +
                         10 * (((x * 7 + y * 13 + c * 5 + seed) % 5) - 2);
        rgb[(static_cast<size_t>(y) * w + x) * 3 + c] = static_cast<uint8_t>(std::clamp(v, 0.0, 255.0));
      }
    }
  }
  return rgb;
}

torch::Tensor cpu_decode(const std::vector<uint8_t>& jpeg, int h, int w) {
  torch::Tensor t = torch::empty({h, w, 3}, torch::kUInt8);
  JpegDecoder().decode_rgb(jpeg.data(), jpeg.size(), t.data_ptr<uint8_t>(),
                           {static_cast<uint32_t>(h), static_cast<uint32_t>(w), 3});
  return t;
}

struct Diff {
  double mean = 0;
  int max = 0;
};
Diff diff(const torch::Tensor& a, const torch::Tensor& b) {
  const auto d = (a.cpu().to(torch::kInt) - b.cpu().to(torch::kInt)).abs();
  return {d.to(torch::kDouble).mean().item<double>(), d.max().item<int>()};
}

// The bounds: both decoders follow the JPEG standard, but their IDCTs round differently (about 1 level
// on average) and, should nvJPEG ignore NVJPEG_FLAGS_UPSAMPLING_WITH_INTERPOLATION, its chroma
// upsampling replicates where libjpeg-turbo's interpolates: a mean of about 3.5 levels on these
// textured 4:2:0 images (measured with libjpeg-turbo's own TJFLAG_FASTUPSAMPLE). A wrong pitch,
// channel order or colour conversion is far outside the bounds. The test prints the measured values.
constexpr double kMeanBound = 4.5;
constexpr int kMaxBound = 40;

TEST(NvJpeg, MatchesLibjpegTurboOnTheSameBytes) {
  WISESR_REQUIRE_NVJPEG();
  GpuJpegDecoder dec(0);
  dec.self_check();
  const bool hardware = dec.backend().rfind("hardware", 0) == 0;
  struct Case {
    int h, w, subsamp;
    bool progressive;
  };
  const std::vector<Case> cases = {{64, 64, TJSAMP_420, false},   {512, 512, TJSAMP_420, false},
                                   {33, 71, TJSAMP_420, false},   {97, 131, TJSAMP_444, false},
                                   {224, 224, TJSAMP_422, false}, {120, 80, TJSAMP_420, true}};
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.w) + "x" + std::to_string(c.h) + " subsampling " +
                 std::to_string(c.subsamp) + (c.progressive ? " progressive" : " baseline"));
    const auto jpeg = testing::encode_jpeg(wave_image(c.h, c.w, c.h), c.h, c.w, 90, c.subsamp, c.progressive);
    const RecordShape shape{static_cast<uint32_t>(c.h), static_cast<uint32_t>(c.w), 3};
    std::vector<std::string> errors(2);
    const int64_t fallback = dec.cpu_fallback_images();
    // Twice in one batch: the batched path, not a batch of one.
    const torch::Tensor out = dec.decode(
        {{jpeg.data(), jpeg.size(), shape, 0, 0}, {jpeg.data(), jpeg.size(), shape, 0, 0}}, c.h, c.w, errors);
    EXPECT_TRUE(errors[0].empty() && errors[1].empty()) << errors[0] << errors[1];
    ASSERT_TRUE(out.is_cuda());
    ASSERT_EQ(out.sizes(), torch::IntArrayRef({2, c.h, c.w, 3}));
    const torch::Tensor ref = cpu_decode(jpeg, c.h, c.w);
    for (int i = 0; i < 2; ++i) {
      const Diff d = diff(out[i], ref);
      std::cout << "[ nvjpeg   ] " << dec.backend() << " " << c.w << "x" << c.h << " subsampling "
                << c.subsamp << (c.progressive ? " progressive" : "") << ": mean |diff| " << d.mean
                << ", max " << d.max << "\n";
      EXPECT_LE(d.mean, kMeanBound);
      EXPECT_LE(d.max, kMaxBound);
    }
    if (hardware && c.progressive) {
      EXPECT_EQ(dec.cpu_fallback_images(), fallback + 2) << "progressive: on the CPU";
    }
    if (!c.progressive && c.subsamp == TJSAMP_420) {
      EXPECT_EQ(dec.cpu_fallback_images(), fallback) << "on the GPU";
    }
  }
}

TEST(NvJpeg, CropsBadRecordsAndSkippedItems) {
  WISESR_REQUIRE_NVJPEG();
  auto dec = GpuJpegDecoder::create_checked(0);
  const int h = 48, w = 40;
  const auto exact = testing::encode_jpeg(wave_image(h, w, 1), h, w, 90, TJSAMP_420);
  const auto large = testing::encode_jpeg(wave_image(90, 70, 2), 90, 70, 90, TJSAMP_420);
  const std::vector<uint8_t> garbage = {0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 0};
  using Item = GpuJpegDecoder::Item;
  const std::vector<Item> items = {
      {exact.data(), exact.size(), {48, 40, 3}, 0, 0},
      {large.data(), large.size(), {90, 70, 3}, 17, 29},  // a window of a larger record
      {garbage.data(), garbage.size(), {48, 40, 3}, 0, 0},
      {},                                               // already known bad
      {exact.data(), exact.size(), {50, 40, 3}, 0, 0},  // header disagrees with the record
  };
  std::vector<std::string> errors(items.size());
  const torch::Tensor out = dec->decode(items, h, w, errors).cpu();
  EXPECT_TRUE(errors[0].empty()) << errors[0];
  EXPECT_TRUE(errors[1].empty()) << errors[1];
  EXPECT_LE(diff(out[0], cpu_decode(exact, h, w)).mean, kMeanBound);
  const torch::Tensor window = cpu_decode(large, 90, 70).narrow(0, 17, h).narrow(1, 29, w);
  EXPECT_LE(diff(out[1], window).mean, kMeanBound);
  EXPECT_FALSE(errors[2].empty());
  EXPECT_TRUE(errors[3].empty()) << "a null item is the caller's to report";
  EXPECT_NE(errors[4].find("record says 40x50"), std::string::npos) << errors[4];
  for (int i : {2, 3, 4}) EXPECT_EQ(out[i].count_nonzero().item<int64_t>(), 0) << "item " << i;
}

TEST(NvJpeg, TrainingBatchesMatchTheCpuDecodedOnes) {
  WISESR_REQUIRE_NVJPEG();
  testing::TempDir dir;
  testing::TinyDatasetSpec spec;
  spec.size = 64;
  testing::write_tiny_dataset(dir.path(), spec);
  ShardSet set(dir.path(), "train");
  std::vector<uint64_t> idx(set.size());
  std::iota(idx.begin(), idx.end(), 0);
  const torch::Device cuda(torch::kCUDA, 0);
  auto run = [&](Decode mode) {
    const DecodePlan plan = plan_decode(mode, cuda, "jpeg");
    EXPECT_EQ(plan.mode, to_string(mode));
    LoaderOptions o;
    o.batch_size = 5;  // 12 records: batches of 5, 5 and 2 (nvJPEG re-initialises for the last)
    o.drop_last = false;
    o.workers = 2;
    o.seed = 4;
    o.transform = std::make_shared<BatchTransform>(AugmentOptions{}, /*train=*/true, 64);  // keras
    set_delivery(o, cuda, plan);
    EXPECT_EQ(o.delivery, mode == Decode::kNvjpeg ? Delivery::kDevicePixels : Delivery::kHostPixels);
    Loader loader(set, idx, o);
    DeviceFeed feed(loader, cuda);
    std::vector<torch::Tensor> images, labels;
    while (auto b = feed.next()) {
      EXPECT_TRUE(b->images.is_cuda());
      EXPECT_EQ(b->num_invalid, 0);
      images.push_back(b->images);
      labels.push_back(b->labels);
    }
    return std::pair{torch::cat(images).cpu(), torch::cat(labels).cpu()};
  };
  const auto [gpu_images, gpu_labels] = run(Decode::kNvjpeg);
  const auto [cpu_images, cpu_labels] = run(Decode::kCpu);
  ASSERT_EQ(gpu_images.sizes(), cpu_images.sizes());
  EXPECT_TRUE(torch::equal(gpu_labels, cpu_labels));
  // Normalised (caffe) values keep the pixel scale; the decoders' differences pass through the
  // augmentation at most 1.2x (the warp is a convex combination, brightness <= 1.2). The test set is
  // 4:4:4 (tests/support), so only the IDCTs differ: about a level.
  const double mean = (gpu_images - cpu_images).abs().mean().item<double>();
  EXPECT_LE(mean, 2.0) << "mean |diff| after the keras recipe";
}

}  // namespace
}  // namespace wisesr::data
