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
  double uniform(double lo, double hi) {
    return lo + (hi - lo) * static_cast<double>(next() >> 11) * 0x1.0p-53;
  }
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

namespace {

// Background shared by both tasks: a random-direction colour gradient plus per-pixel noise.
cv::Mat background(Rng& rng, int size) {
  cv::Mat img(size, size, CV_8UC3);
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
  return img;
}

// Pattern `kind` (0..7) centred at c with half-size r: circle, square, triangle, cross, ring,
// horizontal stripes, vertical stripes, checkerboard.
void draw_pattern(cv::Mat& img, int kind, cv::Point c, int r, const cv::Scalar& color) {
  const int t = std::max(1, r / 3);
  switch (kind) {
    case 0:
      cv::circle(img, c, r, color, cv::FILLED, cv::LINE_AA);
      break;
    case 1:
      cv::rectangle(img, cv::Point(c.x - r, c.y - r), cv::Point(c.x + r, c.y + r), color, cv::FILLED);
      break;
    case 2: {
      std::vector<cv::Point> tri = {{c.x, c.y - r}, {c.x - r, c.y + r}, {c.x + r, c.y + r}};
      cv::fillConvexPoly(img, tri, color, cv::LINE_AA);
      break;
    }
    case 3:
      cv::rectangle(img, cv::Point(c.x - r, c.y - t), cv::Point(c.x + r, c.y + t), color, cv::FILLED);
      cv::rectangle(img, cv::Point(c.x - t, c.y - r), cv::Point(c.x + t, c.y + r), color, cv::FILLED);
      break;
    case 4:
      cv::circle(img, c, r, color, std::max(1, r / 4), cv::LINE_AA);
      break;
    case 5:
    case 6:
      for (int k = -r; k <= r; k += 2 * t) {
        if (kind == 5)
          cv::rectangle(img, cv::Point(c.x - r, c.y + k), cv::Point(c.x + r, c.y + k + t - 1), color,
                        cv::FILLED);
        else
          cv::rectangle(img, cv::Point(c.x + k, c.y - r), cv::Point(c.x + k + t - 1, c.y + r), color,
                        cv::FILLED);
      }
      break;
    default:
      for (int y = -r; y < r; y += t)
        for (int x = -r; x < r; x += t)
          if (((x + r) / t + (y + r) / t) % 2 == 0)
            cv::rectangle(img, cv::Point(c.x + x, c.y + y), cv::Point(c.x + x + t - 1, c.y + y + t - 1),
                          color, cv::FILLED);
  }
}

cv::Scalar random_color(Rng& rng) { return {rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255)}; }

Rng image_rng(uint64_t seed, int label, int index) {
  return Rng(seed ^ data::mix64(static_cast<uint64_t>(label) * 1000003ULL + static_cast<uint64_t>(index)));
}

}  // namespace

cv::Mat render_spatial(const std::array<int, kSynthShapes>& layout, int size, uint64_t seed, int label,
                       int index) {
  Rng rng = image_rng(seed, label, index);
  cv::Mat img = background(rng, size);
  const double cell = static_cast<double>(size) / kSynthGrid;
  for (int s = 0; s < kSynthShapes; ++s) {
    const int cx_cell = layout[s] % kSynthGrid, cy_cell = layout[s] / kSynthGrid;
    const double cx = (cx_cell + 0.5 + rng.uniform(-0.15, 0.15)) * cell;
    const double cy = (cy_cell + 0.5 + rng.uniform(-0.15, 0.15)) * cell;
    const int r = std::max(2, static_cast<int>(cell * rng.uniform(0.25, 0.4)));
    draw_pattern(img, s, cv::Point(static_cast<int>(cx), static_cast<int>(cy)), r, random_color(rng));
  }
  return img;
}

cv::Mat render_texture(int size, uint64_t seed, int label, int index) {
  Rng rng = image_rng(seed ^ 0x7E47, label, index);
  cv::Mat img = background(rng, size);
  for (int k = 0; k < 3; ++k) {
    const int r = std::max(3, static_cast<int>(size * rng.uniform(0.08, 0.16)));
    const cv::Point c(rng.integer(r, size - r - 1), rng.integer(r, size - r - 1));
    draw_pattern(img, label, c, r, random_color(rng));
  }
  return img;
}

std::array<int, kSynthGrid * kSynthGrid> center_cells(int classes, uint64_t seed, int label, int index) {
  Rng rng = image_rng(seed ^ 0xCE11, label, index);
  std::array<int, kSynthGrid * kSynthGrid - 1> outer{};
  outer.fill(-1);
  int filled = 0;
  for (int k = 0; k < classes; ++k)
    if (k != label) outer[static_cast<size_t>(filled++)] = k;
  for (int i = static_cast<int>(outer.size()); i > 1; --i)
    std::swap(outer[static_cast<size_t>(i - 1)], outer[rng.next() % static_cast<uint64_t>(i)]);
  std::array<int, kSynthGrid * kSynthGrid> cells{};
  const int centre = kSynthGrid * kSynthGrid / 2;
  for (int c = 0, o = 0; c < kSynthGrid * kSynthGrid; ++c) cells[c] = c == centre ? label : outer[o++];
  return cells;
}

cv::Mat render_center(int classes, int size, uint64_t seed, int label, int index) {
  Rng rng = image_rng(seed ^ 0xCE7E, label, index);
  cv::Mat img = background(rng, size);
  const auto cells = center_cells(classes, seed, label, index);
  const double cell = static_cast<double>(size) / kSynthGrid;
  for (int c = 0; c < kSynthGrid * kSynthGrid; ++c) {
    if (cells[c] < 0) continue;
    const double cx = (c % kSynthGrid + 0.5 + rng.uniform(-0.1, 0.1)) * cell;
    const double cy = (c / kSynthGrid + 0.5 + rng.uniform(-0.1, 0.1)) * cell;
    const int r = std::max(2, static_cast<int>(cell * rng.uniform(0.25, 0.38)));
    draw_pattern(img, cells[c], cv::Point(static_cast<int>(cx), static_cast<int>(cy)), r, random_color(rng));
  }
  return img;
}

void run_synth(const SynthOptions& cfg) {
  const std::filesystem::path out(cfg.out);
  fs::ensure_dir(out);
  const auto layouts = synth_layouts(cfg.classes);
  const std::string ext = cfg.format == "png" ? ".png" : ".jpg";
  std::vector<std::string> class_names;
  for (int c = 0; c < cfg.classes; ++c) {
    char name[32];
    static const char* kPatterns[] = {"circle", "square",   "triangle", "cross",
                                      "ring",   "hstripes", "vstripes", "checker"};
    if (cfg.task == "texture" || cfg.task == "center") {
      std::snprintf(name, sizeof(name), "%s", kPatterns[c]);
    } else {
      std::snprintf(name, sizeof(name), "layout_%02d", c);
    }
    class_names.emplace_back(name);
    fs::ensure_dir(out / name);
  }
  const size_t total = static_cast<size_t>(cfg.classes) * static_cast<size_t>(cfg.per_class);
  ThreadPool pool(std::max(1u, std::thread::hardware_concurrency()) - 1);
  pool.parallel_for(total, [&](size_t i) {
    const int label = static_cast<int>(i / cfg.per_class), index = static_cast<int>(i % cfg.per_class);
    cv::Mat img = cfg.task == "texture"  ? render_texture(cfg.size, cfg.seed, label, index)
                  : cfg.task == "center" ? render_center(cfg.classes, cfg.size, cfg.seed, label, index)
                                         : render_spatial(layouts[label], cfg.size, cfg.seed, label, index);
    std::vector<uint8_t> bytes;
    std::vector<int> params;
    if (ext == ".jpg") params = {cv::IMWRITE_JPEG_QUALITY, 95};
    WISESR_CHECK(cv::imencode(ext, img, bytes, params), "cannot encode synthetic image");
    char file[32];
    std::snprintf(file, sizeof(file), "img_%05d%s", index, ext.c_str());
    fs::write_file_atomic(out / class_names[label] / file,
                          std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  });
  LOG_RANK0("wrote " << total << " images (" << cfg.classes << " classes x " << cfg.per_class << ", "
                     << cfg.size << "x" << cfg.size << " " << cfg.format << ", task " << cfg.task << ") to "
                     << out.string());
}

}  // namespace wisesr::prep
