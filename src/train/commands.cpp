#include "train/commands.h"

#include <nlohmann/json.hpp>
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
