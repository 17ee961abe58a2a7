#include "tools/gradcam.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"
#include "config/cli.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/strings.h"
#include "data/augment.h"
#include "data/loader.h"
#include "data/sampler.h"
#include "data/shard_set.h"
#include "train/checkpoint.h"
#include "train/runtime.h"

namespace wisesr::tools {
namespace stdfs = std::filesystem;
namespace F = torch::nn::functional;

std::pair<torch::Tensor, torch::Tensor> grad_cam_from_features(models::HeadImpl& head, torch::Tensor features,
                                                               const torch::Tensor& target) {
  torch::AutoGradMode grad(true);
  features = features.detach().requires_grad_(true);
  const torch::Tensor logits = head.forward(features);
  const torch::Tensor score = logits.gather(1, target.to(logits.device()).view({-1, 1})).sum();
  const torch::Tensor g = torch::autograd::grad({score}, {features})[0];
  const torch::Tensor alpha = g.mean({2, 3});  // (N,C)
  const torch::Tensor map =
      torch::relu((alpha.unsqueeze(2).unsqueeze(3) * features.detach()).sum(1));  // (N,h,w)
  return {alpha.detach(), map.detach()};
}

CamResult grad_cam(models::ClassifierImpl& model, const torch::Tensor& images, torch::Tensor target) {
  CamResult r;
  torch::Tensor features;
  {
    torch::NoGradGuard no_grad;
    features = model.backbone().forward(images);
    r.probs = torch::softmax(model.head().forward(features).to(torch::kFloat), 1);
  }
  const torch::Tensor predicted = r.probs.argmax(1).cpu();
  target = target.cpu().clone();
  target = torch::where(target < 0, predicted, target);
  auto [alpha, map] = grad_cam_from_features(model.head(), features.to(torch::kFloat), target);
  const int64_t s = images.size(2);
  torch::Tensor up = F::interpolate(map.unsqueeze(1), F::InterpolateFuncOptions()
                                                          .size(std::vector<int64_t>{s, s})
                                                          .mode(torch::kBilinear)
                                                          .align_corners(false))
                         .squeeze(1);
  const torch::Tensor peak = up.amax({1, 2}, /*keepdim=*/true).clamp_min(1e-12);
  r.cam = (up / peak).clamp(0, 1).to(torch::kCPU, torch::kFloat).contiguous();
  r.probs = r.probs.cpu();
  r.target = target;
  return r;
}

torch::Tensor display_rgb(const torch::Tensor& images, data::Normalize normalize) {
  torch::Tensor x = images.to(torch::kCPU, torch::kFloat);
  if (normalize == data::Normalize::kCaffe) {
    auto mean =
        torch::tensor({data::kCaffeMeanBgr[0], data::kCaffeMeanBgr[1], data::kCaffeMeanBgr[2]}, x.options());
    x = (x + mean.view({1, 3, 1, 1})).flip({1});  // BGR -> RGB
  } else {
    auto mean = torch::tensor(
        {data::kImagenetMeanRgb[0], data::kImagenetMeanRgb[1], data::kImagenetMeanRgb[2]}, x.options());
    auto stdev = torch::tensor({data::kImagenetStdRgb[0], data::kImagenetStdRgb[1], data::kImagenetStdRgb[2]},
                               x.options());
    x = (x * stdev.view({1, 3, 1, 1}) + mean.view({1, 3, 1, 1})) * 255.0;
  }
  return x.round().clamp(0, 255).to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous();
}

namespace {

struct LoadedModel {
  std::string name;  // backbone + head
  models::Classifier model{nullptr};
  std::vector<std::string> classes;
  int image_size = 0;
  data::Normalize normalize = data::Normalize::kCaffe;
};

LoadedModel load(const std::string& checkpoint, const torch::Device& device) {
  train::CheckpointReader reader(checkpoint);
  const config::Config c = config::from_ini(reader.meta().config_ini);
  LoadedModel m;
  m.name = c.model.backbone + " + " + c.model.head;
  m.classes = reader.meta().class_names;
  m.image_size = static_cast<int>(reader.meta().image_size);
  m.normalize = c.augment.normalize;
  m.model = models::make_classifier(c.model, static_cast<int64_t>(m.classes.size()), m.image_size);
  reader.load_model(*m.model);
  m.model->to(device);
  m.model->eval();
  return m;
}

std::string title(const LoadedModel& m, const CamResult& r, int64_t i) {
  const int64_t c = r.target[i].item<int64_t>();
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%s: %s %.2f", m.name.c_str(), m.classes[static_cast<size_t>(c)].c_str(),
                r.probs[i][c].item<double>());
  return buf;
}

}  // namespace

int run_gradcam(const config::GradcamConfig& cfg) {
  const comm::ProcessGroupInfo info;
  train::configure_threads(cfg.runtime.threads, info);
  const torch::Device device = train::select_device(cfg.runtime.device, info);
  std::vector<LoadedModel> models;
  models.push_back(load(cfg.checkpoint, device));
  if (!cfg.compare.empty()) {
    models.push_back(load(cfg.compare, device));
    WISESR_CHECK(models[1].classes == models[0].classes, "checkpoints '", cfg.checkpoint, "' and '",
                 cfg.compare, "' were trained on different classes");
    WISESR_CHECK(models[1].image_size == models[0].image_size && models[1].normalize == models[0].normalize,
                 "checkpoints '", cfg.checkpoint, "' and '", cfg.compare,
                 "' differ in image size or normalisation: their panels would show different inputs");
  }
  const data::ShardSet set(cfg.data.dir, cfg.data.val_split);
  WISESR_CHECK(set.manifest().classes == models[0].classes, "dataset '", cfg.data.dir,
               "' has other classes than checkpoint '", cfg.checkpoint, "' was trained on");
  data::AugmentOptions ao;
  ao.augment = data::Augment::kNone;
  ao.normalize = models[0].normalize;
  data::LoaderOptions lo;
  lo.batch_size = cfg.train.batch_size;
  lo.drop_last = false;
  lo.transform = std::make_shared<data::BatchTransform>(ao, /*train=*/false, models[0].image_size);
  data::Loader loader(set, data::eval_indices(set.size(), 0, 1), lo);
  fs::ensure_dir(cfg.out);
  std::ostringstream index;
  index << "# Grad-CAM: " << models[0].name << (models.size() > 1 ? " vs " + models[1].name : "") << "\n\n"
        << "Split `" << cfg.data.val_split << "` of `" << cfg.data.dir << "`; heatmaps of the "
        << (cfg.class_of == "true" ? "true" : "predicted") << " class"
        << (models.size() > 1 ? "; images both models classify correctly" : "") << " (Note [Grad-CAM] in "
        << "src/tools/gradcam.h).\n\n| image | true class |";
  for (const auto& m : models) index << " " << m.name << " |";
  index << "\n|---|---|" << (models.size() > 1 ? "---|---|\n" : "---|\n");
  nlohmann::json records = nlohmann::json::array();
  int written = 0;
  const int size = models[0].image_size;
  while (written < cfg.count) {
    auto batch = loader.next();
    if (!batch) break;
    const torch::Tensor labels = batch->labels.cpu();
    const torch::Tensor images = batch->images.to(device);
    std::vector<CamResult> cams;
    for (auto& m : models)
      cams.push_back(
          grad_cam(*m.model, images, cfg.class_of == "true" ? labels : torch::full_like(labels, -1)));
    const torch::Tensor rgb = display_rgb(batch->images, models[0].normalize);
    for (int64_t i = 0; i < labels.size(0) && written < cfg.count; ++i) {
      if (batch->num_invalid > 0 && !batch->valid[i].item<bool>()) continue;
      const int64_t label = labels[i].item<int64_t>();
      bool all_correct = true;
      for (const auto& c : cams) all_correct = all_correct && c.probs[i].argmax().item<int64_t>() == label;
      if (models.size() > 1 && !all_correct) continue;
      std::vector<prep::Panel> panels;
      panels.push_back(
          {rgb[i].data_ptr<uint8_t>(), nullptr, "input: " + models[0].classes[static_cast<size_t>(label)]});
      for (size_t k = 0; k < models.size(); ++k)
        panels.push_back(
            {rgb[i].data_ptr<uint8_t>(), cams[k].cam[i].data_ptr<float>(), title(models[k], cams[k], i)});
      char name[32];
      std::snprintf(name, sizeof(name), "%04d.png", written);
      prep::write_panels_png((stdfs::path(cfg.out) / name).string(), size, panels);
      index << "| ![" << name << "](" << name << ") | " << models[0].classes[static_cast<size_t>(label)]
            << " |";
      for (size_t k = 0; k < models.size(); ++k) index << " " << panels[k + 1].title << " |";
      index << "\n";
      nlohmann::json rec = {{"image", name}, {"true_class", models[0].classes[static_cast<size_t>(label)]}};
      for (size_t k = 0; k < models.size(); ++k) {
        const int64_t hot = cams[k].cam[i].argmax().item<int64_t>();  // the heatmap's hottest pixel
        const int64_t c = cams[k].target[i].item<int64_t>();
        rec["models"].push_back({{"model", models[k].name},
                                 {"class", models[k].classes[static_cast<size_t>(c)]},
                                 {"prob", cams[k].probs[i][c].item<double>()},
                                 {"hottest", {hot / size, hot % size}}});
      }
      records.push_back(rec);
      ++written;
    }
  }
  fs::write_file_atomic(stdfs::path(cfg.out) / "index.md", index.str());
  fs::write_file_atomic(stdfs::path(cfg.out) / "index.json", records.dump(1) + "\n");
  LOG_RANK0("gradcam: " << written << " image(s) in " << cfg.out << " (index.md)");
  return written;
}

}  // namespace wisesr::tools
