#include "train/commands.h"

#include <nlohmann/json.hpp>

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
  Tally t = evaluate(model, set, *comm, device, eo);
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
                        {"params", models::count_parameters(*model)}};
    fs::write_file_atomic(cfg.json, j.dump(2) + "\n");
  }
}

void export_checkpoint(const config::ExportConfig& cfg) {
  CheckpointReader reader(cfg.checkpoint);
  auto model = models::make_classifier(config::from_ini(reader.meta().config_ini).model,
                                       static_cast<int64_t>(reader.meta().class_names.size()),
                                       reader.meta().image_size);
  reader.load_model(*model);
  models::export_state_dict(*model, cfg.out);
}

}  // namespace wisesr::train
