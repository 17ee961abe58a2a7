#include "train/metrics.h"

#include "core/error.h"

namespace wisesr::train {

void DeviceTally::add(const torch::Tensor& logits, const torch::Tensor& labels,
                      const torch::Tensor& per_sample_loss, const torch::Tensor& valid) {
  torch::NoGradGuard g;
  const int64_t k = std::min<int64_t>(5, logits.size(1));
  auto topk = std::get<1>(logits.topk(k, 1));
  auto hit = topk.eq(labels.view({-1, 1}));
  auto top1 = hit.select(1, 0), top5 = hit.any(1);
  torch::Tensor loss = per_sample_loss.to(torch::kDouble), count;
  if (valid.defined()) {  // masked by multiplication, not by indexing (whose output size needs the host)
    loss = torch::where(valid, loss, 0.0);
    top1 = top1 & valid;
    top5 = top5 & valid;
    count = valid.sum().to(torch::kDouble);
  } else {
    count = torch::full({}, static_cast<double>(labels.size(0)), loss.options());
  }
  auto step = torch::stack({loss.sum(), top1.sum().to(torch::kDouble), top5.sum().to(torch::kDouble), count});
  if (!sums_.defined()) sums_ = torch::zeros_like(step);
  sums_.add_(step);
}

Tally DeviceTally::take() {
  Tally t;
  if (sums_.defined()) {
    auto host = sums_.to(torch::kCPU);
    auto a = host.accessor<double, 1>();
    t = {a[0], a[1], a[2], a[3]};
    sums_.zero_();
  }
  return t;
}

Tally Tally::reduced(comm::Communicator& comm) const {
  auto t = torch::tensor({loss_sum, top1, top5, count}, torch::kDouble);
  comm.all_reduce(t);
  auto a = t.accessor<double, 1>();
  return {a[0], a[1], a[2], a[3]};
}

JsonlWriter::JsonlWriter(const std::filesystem::path& path) : out_(path) {}

void JsonlWriter::write(const std::string& json_line) { out_.write_line(json_line); }

}  // namespace wisesr::train
