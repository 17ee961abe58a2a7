#include "tools/predict.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "config/cli.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/strings.h"
#include "data/augment.h"
#include "models/classifier.h"
#include "train/checkpoint.h"
#include "train/runtime.h"

namespace wisesr::tools {
namespace stdfs = std::filesystem;
namespace {

bool image_extension(const stdfs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* x : {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})
    if (e == x) return true;
  return false;
}

// The batch's images (uint8 RGB, all size x size) through the evaluation transform and the model.
void classify(models::Classifier& model, const data::BatchTransform& transform, const torch::Device& device,
              std::vector<Prediction*>& batch, std::vector<std::vector<uint8_t>>& pixels, int size,
              int topk) {
  const auto n = static_cast<int64_t>(batch.size());
  auto images = torch::empty({n, size, size, 3}, torch::kUInt8);
  auto params = torch::empty({n, data::kTransformParams}, torch::kFloat);
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(images[i].data_ptr(), pixels[static_cast<size_t>(i)].data(),
                pixels[static_cast<size_t>(i)].size());
    data::BatchTransform::store(transform.sample(0, 0, static_cast<uint64_t>(i), size, size), params, i);
  }
  torch::NoGradGuard no_grad;
  auto input = transform.apply(images.to(device), params.to(device));
  auto probs = torch::softmax(model->forward(input).to(torch::kFloat), 1).to(torch::kCPU);
  auto [p, k] = probs.topk(topk, 1);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < topk; ++j) {
      batch[static_cast<size_t>(i)]->classes.push_back(k[i][j].item<int64_t>());
      batch[static_cast<size_t>(i)]->probs.push_back(p[i][j].item<double>());
    }
  }
  batch.clear();
  pixels.clear();
}

}  // namespace

std::vector<std::string> predict_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& in : inputs) {
    std::error_code ec;
    if (stdfs::is_directory(in, ec)) {
      std::vector<std::string> found;
      for (auto it = stdfs::recursive_directory_iterator(
               in, stdfs::directory_options::follow_directory_symlink, ec);
           !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec) && image_extension(it->path())) found.push_back(it->path().string());
      WISESR_CHECK(!ec, "cannot list directory '", in, "': ", ec.message());
      WISESR_CHECK(!found.empty(), "directory '", in,
                   "' holds no image files (.jpg, .png, .bmp, .tif, .webp, ...)");
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else {
      WISESR_CHECK(stdfs::exists(stdfs::symlink_status(in, ec)), "no such file or directory: '", in, "'");
      files.push_back(in);  // classified, or reported as unusable, like any file
    }
  }
  return files;
}

int run_predict(const config::PredictConfig& cfg) {
  const comm::ProcessGroupInfo info;
  train::configure_threads(cfg.runtime.threads, info);
  const torch::Device device = train::select_device(cfg.runtime.device, info);
  const std::vector<std::string> files = predict_inputs(cfg.inputs);
  train::CheckpointReader reader(cfg.checkpoint);
  const auto& names = reader.meta().class_names;
  const int size = static_cast<int>(reader.meta().image_size);
  const config::Config train_cfg = config::from_ini(reader.meta().config_ini);
  auto model = models::make_classifier(train_cfg.model, static_cast<int64_t>(names.size()), size);
  reader.load_model(*model);
  model->to(device);
  model->eval();
  data::AugmentOptions ao;
  ao.augment = data::Augment::kNone;
  ao.normalize = train_cfg.augment.normalize;
  const data::BatchTransform transform(ao, /*train=*/false, size);
  const int topk = std::min<int>(cfg.topk, static_cast<int>(names.size()));

  std::vector<Prediction> out(files.size());
  std::vector<Prediction*> batch;
  std::vector<std::vector<uint8_t>> pixels;
  int failed = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    out[i].file = files[i];
    prep::ImageRgb img = prep::load_image_rgb(files[i], size, cfg.resize);
    if (!img.ok || img.height != size || img.width != size) {
      out[i].error = img.ok ? "unexpected size after resizing" : img.reason;
      std::fprintf(stderr, "wisesr predict: '%s': %s\n", printable(files[i]).c_str(), out[i].error.c_str());
      ++failed;
      continue;
    }
    batch.push_back(&out[i]);
    pixels.push_back(std::move(img.rgb));
    if (static_cast<int>(batch.size()) == cfg.train.batch_size)
      classify(model, transform, device, batch, pixels, size, topk);
  }
  if (!batch.empty()) classify(model, transform, device, batch, pixels, size, topk);

  nlohmann::json json = nlohmann::json::array();
  for (const auto& p : out) {
    if (!p.error.empty()) {
      json.push_back({{"file", p.file}, {"error", p.error}});
      continue;
    }
    std::string line = printable(p.file) + ":";
    nlohmann::json top = nlohmann::json::array();
    for (size_t j = 0; j < p.classes.size(); ++j) {
      const std::string& name = names[static_cast<size_t>(p.classes[j])];
      char prob[32];
      std::snprintf(prob, sizeof(prob), "%.4f", p.probs[j]);
      line += std::string(j == 0 ? " " : ", ") + printable(name) + " " + prob;
      top.push_back({{"class", name}, {"index", p.classes[j]}, {"prob", p.probs[j]}});
    }
    std::printf("%s\n", line.c_str());
    json.push_back({{"file", p.file}, {"top", top}});
  }
  std::fflush(stdout);
  if (!cfg.json.empty()) fs::write_file_atomic(cfg.json, json.dump(2) + "\n");
  if (failed > 0)
    std::fprintf(stderr, "wisesr predict: %d of %zu file(s) could not be classified\n", failed, files.size());
  return failed;
}

}  // namespace wisesr::tools
