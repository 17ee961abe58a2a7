#include "train/metrics.h"

#include "core/error.h"

namespace wisesr::train {

void DeviceTally::add(const torch::Tensor& all_logits, const torch::Tensor& all_labels,
                      const torch::Tensor& all_loss, const torch::Tensor& valid) {
  torch::NoGradGuard g;
  const bool masked = valid.defined();
  const auto logits = masked ? all_logits.index({valid}) : all_logits;
  const auto labels = masked ? all_labels.index({valid}) : all_labels;
  const auto per_sample_loss = masked ? all_loss.index({valid}) : all_loss;
  const int64_t k = std::min<int64_t>(5, logits.size(1));
  auto topk = std::get<1>(logits.topk(k, 1));
  auto hit = topk.eq(labels.view({-1, 1}));
  auto step = torch::stack({per_sample_loss.sum().to(torch::kDouble),
                            hit.select(1, 0).sum().to(torch::kDouble), hit.any(1).sum().to(torch::kDouble)});
  sums_ = sums_.defined() ? sums_ + step : step;
  count_ += static_cast<double>(labels.size(0));
}

Tally DeviceTally::take() {
  Tally t;
  if (sums_.defined()) {
    auto host = sums_.to(torch::kCPU);
    auto a = host.accessor<double, 1>();
    t = {a[0], a[1], a[2], count_};
  }
  sums_ = torch::Tensor();
  count_ = 0;
  return t;
}

Tally Tally::reduced(comm::Communicator& comm) const {
  auto t = torch::tensor({loss_sum, top1, top5, count}, torch::kDouble);
  comm.all_reduce(t);
  auto a = t.accessor<double, 1>();
  return {a[0], a[1], a[2], a[3]};
}

JsonlWriter::JsonlWriter(const std::filesystem::path& path) : path_(path), out_(path, std::ios::app) {
  WISESR_CHECK(out_.good(), "cannot open metrics file '", path.string(), "' for writing");
}

void JsonlWriter::write(const std::string& json_line) {
  out_ << json_line << '\n';
  out_.flush();
  WISESR_CHECK(out_.good(), "write to '", path_.string(), "' failed (disk full?)");
}

}  // namespace wisesr::train
