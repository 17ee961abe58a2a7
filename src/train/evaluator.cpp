#include "train/evaluator.h"

#include "core/error.h"
#include "data/device_feed.h"
#include "data/loader.h"
#include "data/sampler.h"

namespace wisesr::train {
namespace {

// Adds the batch's (true, predicted) pairs to `counts` (flattened classes x classes, on the device).
void count_confusion(torch::Tensor& counts, const torch::Tensor& logits, const torch::Tensor& labels,
                     const torch::Tensor& valid) {
  const int64_t classes = logits.size(1);
  torch::Tensor pairs = labels.to(torch::kLong) * classes + logits.argmax(1);
  if (valid.defined()) pairs = pairs.masked_select(valid);
  const torch::Tensor batch = torch::bincount(pairs, {}, classes * classes);
  counts = counts.defined() ? counts.add_(batch) : batch;
}

// Sums the counts over ranks (as doubles: exact far beyond any dataset) -> classes x classes int64, CPU.
torch::Tensor reduced_confusion(const torch::Tensor& counts, int64_t classes, comm::Communicator& comm) {
  torch::Tensor all = counts.defined() ? counts.to(torch::kCPU, torch::kDouble)
                                       : torch::zeros({classes * classes}, torch::kDouble);
  comm.all_reduce(all);
  return all.to(torch::kLong).view({classes, classes});
}

}  // namespace

Tally evaluate(models::Classifier& model, const data::ShardSet& set, comm::Communicator& comm,
               const torch::Device& device, const EvalOptions& options) {
  data::check_evaluable(set);
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  data::AugmentOptions ao;
  ao.augment = data::Augment::kNone;
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
  data::set_delivery(lo, device, options.decode);
  data::Loader loader(set, data::eval_indices(set.size(), comm.rank(), comm.size()), lo);
  data::DeviceFeed feed(loader, device);
  DeviceTally local;        // no host synchronisation per batch
  torch::Tensor confusion;  // on the device, classes * classes counts, flattened
  while (auto batch = feed.next()) {
    auto logits = model->forward(batch->images);
    auto loss = torch::nn::functional::cross_entropy(
        logits.to(torch::kFloat), batch->labels,
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    local.add(logits, batch->labels, loss, batch->num_invalid > 0 ? batch->valid : torch::Tensor());
    if (options.confusion)
      count_confusion(confusion, logits, batch->labels,
                      batch->num_invalid > 0 ? batch->valid : torch::Tensor());
    if (options.on_batch) options.on_batch();
  }
  model->train(was_training);
  if (options.confusion)
    *options.confusion =
        reduced_confusion(confusion, static_cast<int64_t>(set.manifest().classes.size()), comm);
  return local.take().reduced(comm);
}

}  // namespace wisesr::train
