#include "config/config.h"

#include <cctype>
#include <cstdlib>

#include "core/error.h"

namespace wisesr::config {

void Config::validate() const {
  WISESR_CHECK(!data.dir.empty(), "--data.dir is required (a directory written by 'wisesr prep')");
  data.validate();
  augment.validate();
  model.validate();
  optim.validate();
  schedule.validate();
  train.validate();
  runtime.validate();
  comm.validate();
}

void EvalConfig::validate() const {
  WISESR_CHECK(!checkpoint.empty(), "--checkpoint is required");
  WISESR_CHECK(!data.dir.empty(), "--data.dir is required (a directory written by 'wisesr prep')");
  data.validate();
  train.validate();
  runtime.validate();
}

void ParamsConfig::validate() const {
  WISESR_CHECK(classes >= 1, "--classes must be >= 1, got ", classes);
  WISESR_CHECK(data.image_size >= 32 && data.image_size <= 8192,
               "--data.image_size must be in [32, 8192], got ", data.image_size);
  model.validate();
}

void BenchTrainConfig::validate() const {
  WISESR_CHECK(data.image_size >= 32 && data.image_size <= 8192,
               "--data.image_size must be in [32, 8192], got ", data.image_size);
  WISESR_CHECK(classes >= 1, "--classes must be >= 1, got ", classes);
  WISESR_CHECK(steps >= 1, "--steps must be >= 1, got ", steps);
  WISESR_CHECK(warmup >= 0, "--warmup must be >= 0, got ", warmup);
  WISESR_CHECK(breakdown_steps >= 0, "--breakdown-steps must be >= 0, got ", breakdown_steps);
  model.validate();
  data.validate();
  augment.validate();
  train.validate();
  runtime.validate();
  optim.validate();
  comm.validate();
}

void BenchDataConfig::validate() const {
  WISESR_CHECK(!data.dir.empty(), "--data.dir is required (a directory written by 'wisesr prep')");
  WISESR_CHECK(batches >= 1, "--batches must be >= 1, got ", batches);
  WISESR_CHECK(warmup >= 0, "--warmup must be >= 0, got ", warmup);
  WISESR_CHECK(threads >= 0, "--threads must be >= 0, got ", threads);
  data.validate();
  augment.validate();
  train.validate();
  runtime.validate();
}

void BenchCommConfig::validate() const {
  parse_sizes(sizes);
  WISESR_CHECK(iters >= 1, "--iters must be >= 1, got ", iters);
  WISESR_CHECK(warmup >= 0, "--warmup must be >= 0, got ", warmup);
  comm.validate();
}

std::vector<int64_t> parse_sizes(const std::string& text) {
  std::vector<int64_t> out;
  size_t pos = 0;
  bool ok = !text.empty();
  while (ok && pos <= text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(pos, end - pos);
    const size_t suffix = item.empty() ? std::string::npos
                                       : std::string("KMG").find(static_cast<char>(
                                             std::toupper(static_cast<unsigned char>(item.back()))));
    const int64_t unit = suffix == std::string::npos ? 1 : int64_t{1} << (10 * (suffix + 1));
    if (suffix != std::string::npos) item.pop_back();
    char* stop = nullptr;
    const long long v = std::strtoll(item.c_str(), &stop, 10);
    ok = !item.empty() && stop && *stop == '\0' && v > 0 && v <= (int64_t{16} << 30) / unit;
    if (ok) out.push_back(static_cast<int64_t>(v) * unit);
    pos = end + 1;
  }
  WISESR_CHECK(
      ok, "--sizes must be positive byte counts (suffix K, M or G; at most 16G) separated by commas, got '",
      text, "'");
  return out;
}

}  // namespace wisesr::config
