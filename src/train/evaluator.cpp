#include "train/evaluator.h"

#include <nlohmann/json.hpp>

#include "config/cli.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "data/device_feed.h"
#include "data/loader.h"
#include "data/sampler.h"
#include "train/checkpoint.h"
#include "train/runtime.h"

namespace wisesr::train {

Tally evaluate(models::Classifier& model, const data::ShardSet& set, comm::Communicator& comm,
               const torch::Device& device, const EvalOptions& options) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  data::AugmentOptions ao;
  ao.recipe = "none";
  ao.normalize = options.normalize;
  data::LoaderOptions lo;
  lo.batch_size = options.batch_size;
  lo.workers = options.workers;
  lo.prefetch = options.prefetch;
  lo.drop_last = false;
  lo.max_bad_records = options.max_bad_records;
  const int size = options.image_size > 0 ? options.image_size : set.manifest().image_size;
  WISESR_CHECK(size > 0, "evaluation needs an image size (the dataset's images vary in size)");
  lo.transform = std::make_shared<data::BatchTransform>(ao, /*train=*/false, size);
  // With nvJPEG this finds the decoder the trainer holds, if any (GpuJpegDecoder::shared).
  const data::DecodePlan plan = data::plan_decode(options.decode, device, set.manifest().storage, options.decode_option);
  data::configure_for_device(lo, device, plan);
  data::Loader loader(set, data::eval_indices(set.size(), comm.rank(), comm.size()), lo);
  data::DeviceFeed feed(loader, device);
  DeviceTally local;  // no host synchronisation per batch
  while (auto batch = feed.next()) {
    auto logits = model->forward(batch->images);
    auto loss = torch::nn::functional::cross_entropy(
        logits.to(torch::kFloat), batch->labels,
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    local.add(logits, batch->labels, loss, batch->num_invalid > 0 ? batch->valid : torch::Tensor());
    if (options.on_batch) options.on_batch();
  }
  model->train(was_training);
  return local.take().reduced(comm);
}

void run_eval(const config::EvalConfig& cfg, const comm::ProcessGroupInfo& info) {
  configure_threads(cfg.threads, info);
  const torch::Device device = select_device(cfg.device, info);
  auto comm = comm::make_communicator("auto", info, device);
  CheckpointReader reader(cfg.checkpoint);
  const config::Config train_cfg = config::from_ini(reader.meta().config_ini);
  data::ShardSet set(cfg.data, cfg.split);
  WISESR_CHECK(set.manifest().classes == reader.meta().class_names, "dataset '", cfg.data,
               "' has other classes than checkpoint '", cfg.checkpoint, "' was trained on");
  auto model = models::make_classifier(
      train_cfg.model, static_cast<int64_t>(reader.meta().class_names.size()), reader.meta().image_size);
  reader.load_model(*model);
  model->to(device);
  EvalOptions eo;
  eo.batch_size = cfg.batch_size;
  eo.image_size = static_cast<int>(reader.meta().image_size);
  eo.normalize = train_cfg.data.normalize;
  eo.decode = cfg.decode;
  eo.decode_option = "--decode";
  Tally t = evaluate(model, set, *comm, device, eo);
  LOG_RANK0("eval " << cfg.checkpoint << " on " << cfg.data << ":" << cfg.split << ": "
                    << static_cast<int64_t>(t.count) << " samples, top-1 " << t.top1_acc() << ", top-5 "
                    << t.top5_acc() << ", loss " << t.mean_loss());
  if (info.rank == 0 && !cfg.json.empty()) {
    nlohmann::json j = {{"checkpoint", cfg.checkpoint}, {"data", cfg.data},
                        {"split", cfg.split},           {"samples", static_cast<int64_t>(t.count)},
                        {"top1", t.top1_acc()},         {"top5", t.top5_acc()},
                        {"loss", t.mean_loss()},        {"backbone", train_cfg.model.backbone},
                        {"head", train_cfg.model.head}, {"params", models::count_parameters(*model)}};
    fs::write_file_atomic(cfg.json, j.dump(2) + "\n");
  }
}

}  // namespace wisesr::train
