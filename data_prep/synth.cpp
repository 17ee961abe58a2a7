#include "synth.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <filesystem>
#include <set>

#include "commands.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/thread_pool.h"
#include "data/sampler.h"

namespace wisesr::prep {
namespace {

// Deterministic stream of uniform numbers from a 64-bit state.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(data::mix64(seed)) {}
  uint64_t next() { return state_ = data::mix64(state_); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * static_cast<double>(next() >> 11) * 0x1.0p-53; }
  int integer(int lo, int hi) { return lo + static_cast<int>(next() % static_cast<uint64_t>(hi - lo + 1)); }

 private:
  uint64_t state_;
};

constexpr uint64_t kTaskSeed = 0x57A7141ULL;  // layouts are part of the task, not of the image seed

}  // namespace

std::vector<std::array<int, kSynthShapes>> synth_layouts(int classes) {
  Rng rng(kTaskSeed);
  std::vector<std::array<int, kSynthShapes>> layouts;
  std::set<std::array<int, kSynthShapes>> seen;
  while (static_cast<int>(layouts.size()) < classes) {
    std::array<int, kSynthGrid * kSynthGrid> cells{};
    for (int i = 0; i < kSynthGrid * kSynthGrid; ++i) cells[i] = i;
    for (int i = kSynthGrid * kSynthGrid; i > 1; --i) std::swap(cells[i - 1], cells[rng.next() % i]);
    std::array<int, kSynthShapes> layout{};
    for (int s = 0; s < kSynthShapes; ++s) layout[s] = cells[s];
    if (seen.insert(layout).second) layouts.push_back(layout);
  }
  return layouts;
}

cv::Mat render_spatial(const std::array<int, kSynthShapes>& layout, int size, uint64_t seed, int label, int index) {
  Rng rng(seed ^ data::mix64(static_cast<uint64_t>(label) * 1000003ULL + static_cast<uint64_t>(index)));
  cv::Mat img(size, size, CV_8UC3);
  // Background: a random-direction colour gradient plus per-pixel noise.
  const double b0 = rng.uniform(40, 200), g0 = rng.uniform(40, 200), r0 = rng.uniform(40, 200);
  const double dx = rng.uniform(-60, 60), dy = rng.uniform(-60, 60), noise = rng.uniform(8, 30);
  for (int y = 0; y < size; ++y) {
    auto* row = img.ptr<cv::Vec3b>(y);
    for (int x = 0; x < size; ++x) {
      const double t = (dx * x + dy * y) / size;
      const double n = rng.uniform(-noise, noise);
      row[x] = cv::Vec3b(cv::saturate_cast<uint8_t>(b0 + t + n), cv::saturate_cast<uint8_t>(g0 + t + n),
                         cv::saturate_cast<uint8_t>(r0 + t + n));
    }
  }
  const double cell = static_cast<double>(size) / kSynthGrid;
  for (int s = 0; s < kSynthShapes; ++s) {
    const int cx_cell = layout[s] % kSynthGrid, cy_cell = layout[s] / kSynthGrid;
    const double cx = (cx_cell + 0.5 + rng.uniform(-0.15, 0.15)) * cell;
    const double cy = (cy_cell + 0.5 + rng.uniform(-0.15, 0.15)) * cell;
    const double r = cell * rng.uniform(0.25, 0.4);
    const cv::Scalar color(rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255));
    const cv::Point c(static_cast<int>(cx), static_cast<int>(cy));
    const int ri = std::max(2, static_cast<int>(r));
    switch (s) {
      case 0:
        cv::circle(img, c, ri, color, cv::FILLED, cv::LINE_AA);
        break;
      case 1:
        cv::rectangle(img, cv::Point(c.x - ri, c.y - ri), cv::Point(c.x + ri, c.y + ri), color, cv::FILLED);
        break;
      case 2: {
        std::vector<cv::Point> tri = {{c.x, c.y - ri}, {c.x - ri, c.y + ri}, {c.x + ri, c.y + ri}};
        cv::fillConvexPoly(img, tri, color, cv::LINE_AA);
        break;
      }
      default: {
        const int t = std::max(1, ri / 3);
        cv::rectangle(img, cv::Point(c.x - ri, c.y - t), cv::Point(c.x + ri, c.y + t), color, cv::FILLED);
        cv::rectangle(img, cv::Point(c.x - t, c.y - ri), cv::Point(c.x + t, c.y + ri), color, cv::FILLED);
      }
    }
  }
  return img;
}

void run_synth(const config::SynthConfig& cfg) {
  const std::filesystem::path out(cfg.out);
  fs::ensure_dir(out);
  const auto layouts = synth_layouts(cfg.classes);
  const std::string ext = cfg.format == "png" ? ".png" : ".jpg";
  std::vector<std::string> class_names;
  for (int c = 0; c < cfg.classes; ++c) {
    char name[32];
    std::snprintf(name, sizeof(name), "layout_%02d", c);
    class_names.emplace_back(name);
    fs::ensure_dir(out / name);
  }
  const size_t total = static_cast<size_t>(cfg.classes) * static_cast<size_t>(cfg.per_class);
  ThreadPool pool(std::max(1u, std::thread::hardware_concurrency()) - 1);
  pool.parallel_for(total, [&](size_t i) {
    const int label = static_cast<int>(i / cfg.per_class), index = static_cast<int>(i % cfg.per_class);
    cv::Mat img = render_spatial(layouts[label], cfg.size, cfg.seed, label, index);
    std::vector<uint8_t> bytes;
    std::vector<int> params;
    if (ext == ".jpg") params = {cv::IMWRITE_JPEG_QUALITY, 95};
    WISESR_CHECK(cv::imencode(ext, img, bytes, params), "cannot encode synthetic image");
    char file[32];
    std::snprintf(file, sizeof(file), "img_%05d%s", index, ext.c_str());
    fs::write_file_atomic(out / class_names[label] / file,
                          std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  });
  LOG_RANK0("wrote " << total << " images (" << cfg.classes << " classes x " << cfg.per_class << ", " << cfg.size
                     << "x" << cfg.size << " " << cfg.format << ", task " << cfg.task << ") to " << out.string());
}

}  // namespace wisesr::prep
