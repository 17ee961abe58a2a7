#include "train/commands.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "config/cli.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "data/device_feed.h"
#include "data/shard_set.h"
#include "models/classifier.h"
#include "models/weights.h"
#include "train/checkpoint.h"
#include "train/evaluator.h"
#include "train/runtime.h"

namespace wisesr::train {

namespace {

// A CSV field: quoted when it holds a comma, quote or line break (class names are folder names).
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// One class's row of the [true][predicted] counts: samples (the row sum) and top-1 hits (the diagonal).
struct ClassTally {
  int64_t samples = 0;
  int64_t correct = 0;
  /// Top-1 accuracy; nullopt for a class with no samples.
  std::optional<double> top1() const {
    if (samples == 0) return std::nullopt;
    return static_cast<double>(correct) / static_cast<double>(samples);
  }
};

std::vector<ClassTally> class_tallies(const torch::Tensor& confusion) {
  auto m = confusion.accessor<int64_t, 2>();
  std::vector<ClassTally> out(static_cast<size_t>(confusion.size(0)));
  for (int64_t i = 0; i < confusion.size(0); ++i) {
    auto& t = out[static_cast<size_t>(i)];
    for (int64_t j = 0; j < confusion.size(1); ++j) t.samples += m[i][j];
    t.correct = m[i][i];
  }
  return out;
}

// Per class: samples, top-1 hits, accuracy (empty for a class with no samples).
std::string per_class_csv(const std::vector<ClassTally>& tallies, const std::vector<std::string>& names) {
  std::string out = "class_index,class,samples,top1_correct,top1\n";
  for (size_t i = 0; i < tallies.size(); ++i) {
    const ClassTally& t = tallies[i];
    char acc[32] = "";
    if (auto top1 = t.top1()) std::snprintf(acc, sizeof(acc), "%.6f", *top1);
    out += std::to_string(i) + "," + csv_field(names[i]) + "," + std::to_string(t.samples) + "," +
           std::to_string(t.correct) + "," + acc + "\n";
  }
  return out;
}

// Rows: true class; columns: predicted class; cells: samples.
std::string confusion_csv(const torch::Tensor& confusion, const std::vector<std::string>& names) {
  auto m = confusion.accessor<int64_t, 2>();
  std::string out = "true\\predicted";
  for (const auto& n : names) out += "," + csv_field(n);
  out += "\n";
  for (int64_t i = 0; i < confusion.size(0); ++i) {
    out += csv_field(names[static_cast<size_t>(i)]);
    for (int64_t j = 0; j < confusion.size(1); ++j) out += "," + std::to_string(m[i][j]);
    out += "\n";
  }
  return out;
}

nlohmann::json per_class_json(const std::vector<ClassTally>& tallies, const std::vector<std::string>& names) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < tallies.size(); ++i)
    out.push_back(
        {{"class", names[i]}, {"samples", tallies[i].samples}, {"top1", tallies[i].top1().value_or(0.0)}});
  return out;
}

}  // namespace

void run_eval(const config::EvalConfig& cfg, const comm::ProcessGroupInfo& info) {
  configure_threads(cfg.runtime.threads, info);
  const torch::Device device = select_device(cfg.runtime.device, info);
  auto comm = comm::make_communicator(comm::Backend::kAuto, info, device);
  CheckpointReader reader(cfg.checkpoint);
  const config::Config train_cfg = config::from_ini(reader.meta().config_ini);
  data::ShardSet set(cfg.data.dir, cfg.data.val_split);
  WISESR_CHECK(set.manifest().classes == reader.meta().class_names, "dataset '", cfg.data.dir,
               "' has other classes than checkpoint '", cfg.checkpoint, "' was trained on");
  auto model = models::make_classifier(
      train_cfg.model, static_cast<int64_t>(reader.meta().class_names.size()), reader.meta().image_size);
  reader.load_model(*model);
  model->to(device);
  EvalOptions eo;
  eo.batch_size = cfg.train.batch_size;
  eo.image_size = static_cast<int>(reader.meta().image_size);
  eo.normalize = train_cfg.augment.normalize;
  eo.decode = data::plan_decode(cfg.data.decode, device, set.manifest().storage);
  torch::Tensor confusion;
  eo.confusion = &confusion;
  Tally t = evaluate(model, set, *comm, device, eo);
  const std::vector<ClassTally> tallies = class_tallies(confusion);
  const std::string& split = cfg.data.val_split;
  LOG_RANK0("eval " << cfg.checkpoint << " on " << cfg.data.dir << ":" << split << ": "
                    << static_cast<int64_t>(t.count) << " samples, top-1 " << t.top1_acc() << ", top-5 "
                    << t.top5_acc() << ", loss " << t.mean_loss());
  if (info.rank == 0 && !cfg.json.empty()) {
    nlohmann::json j = {{"checkpoint", cfg.checkpoint},
                        {"data", cfg.data.dir},
                        {"split", split},
                        {"samples", static_cast<int64_t>(t.count)},
                        {"top1", t.top1_acc()},
                        {"top5", t.top5_acc()},
                        {"loss", t.mean_loss()},
                        {"backbone", train_cfg.model.backbone},
                        {"head", train_cfg.model.head},
                        {"params", models::count_parameters(*model)},
                        {"per_class", per_class_json(tallies, reader.meta().class_names)}};
    fs::write_file_atomic(cfg.json, j.dump(2) + "\n");
  }
  if (info.rank == 0 && !cfg.per_class.empty())
    fs::write_file_atomic(cfg.per_class, per_class_csv(tallies, reader.meta().class_names));
  if (info.rank == 0 && !cfg.confusion.empty())
    fs::write_file_atomic(cfg.confusion, confusion_csv(confusion, reader.meta().class_names));
}

namespace {

// What Python needs besides the tensors to rebuild the classifier (python/wisesr_torch): written beside
// the state_dict, so the .pt stays a plain dict of tensors that torch.load(weights_only=True) accepts.
nlohmann::json export_metadata(const config::Config& train_cfg, const CheckpointMeta& meta,
                               models::ClassifierImpl& model) {
  const auto& m = train_cfg.model;
  const int64_t map = model.backbone().feature_size(meta.image_size);
  const bool pooled = m.head == "wise" || m.head == "wise-dropout" || m.head == "avg-fc";
  return {{"format", "wisesr-export"},
          {"version", 1},
          {"backbone", m.backbone},
          {"head", m.head},
          {"pool", pooled ? (m.pool > 0 ? m.pool : models::auto_pool_size(map)) : 1},
          {"dropout", m.dropout},
          {"feature_map", map},
          {"channels", model.backbone().out_channels()},
          {"image_size", meta.image_size},
          {"normalize", to_string(train_cfg.augment.normalize)},
          {"class_names", meta.class_names}};
}

}  // namespace

void export_checkpoint(const config::ExportConfig& cfg) {
  CheckpointReader reader(cfg.checkpoint);
  const config::Config train_cfg = config::from_ini(reader.meta().config_ini);
  auto model = models::make_classifier(
      train_cfg.model, static_cast<int64_t>(reader.meta().class_names.size()), reader.meta().image_size);
  reader.load_model(*model);
  models::export_state_dict(*model, cfg.out);
  fs::write_file_atomic(cfg.out + ".json", export_metadata(train_cfg, reader.meta(), *model).dump(2) + "\n");
}

}  // namespace wisesr::train
