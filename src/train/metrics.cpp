#include "train/metrics.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace wisesr::train {
namespace {

// A CSV field: quoted when it holds a comma, quote or line break (class names are folder names).
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

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

nlohmann::json per_class_json(const std::vector<ClassTally>& tallies, const std::vector<std::string>& names) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < tallies.size(); ++i) {
    const std::optional<double> top1 = tallies[i].top1();
    out.push_back({{"class", names[i]},
                   {"samples", tallies[i].samples},
                   {"top1", top1 ? nlohmann::json(*top1) : nlohmann::json(nullptr)}});
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

}  // namespace wisesr::train
