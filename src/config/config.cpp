#include "config/config.h"

#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "core/limits.h"

namespace wisesr::config {
namespace {

constexpr int kMaxIterations = 1000000;  // timed steps, batches or all-reduces of a benchmark

// A file option (a checkpoint) given a directory is named as such here, not later as a file that "does
// not exist"; for a run directory, the checkpoint it holds is suggested.
void check_not_a_directory(const char* option, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return;
  const auto last = std::filesystem::path(path) / "checkpoints" / "last.pt";
  WISESR_THROW(option, " '", path, "' is a directory, not a file",
               std::filesystem::exists(last, ec) ? " (did you mean '" + last.string() + "'?)" : "");
}

}  // namespace

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
  check_not_a_directory("--checkpoint", checkpoint);
  WISESR_CHECK(!data.dir.empty(), "--data.dir is required (a directory written by 'wisesr prep')");
  data.validate();
  train.validate();
  runtime.validate();
}

void SweepConfig::validate() const {
  WISESR_CHECK(!config.empty(), "--config is required (a table: a config file with a [sweep] section)");
  WISESR_CHECK(seeds >= 1 && seeds <= 100, "--seeds must be in [1, 100], got ", seeds);
  WISESR_CHECK(classes >= 2, "config file '", config, "': [sweep] classes must be >= 2, got ", classes);
  WISESR_CHECK(!row_lines.empty(), "config file '", config, "' has no [sweep] row = BACKBONE HEAD ... lines");
}

void PredictConfig::validate() const {
  WISESR_CHECK(!checkpoint.empty(), "--checkpoint is required");
  WISESR_CHECK(!inputs.empty(), "no images given (wisesr predict --checkpoint FILE IMAGE|DIR ...)");
  WISESR_CHECK(topk >= 1, "--topk must be >= 1, got ", topk);
  WISESR_CHECK(resize == "squash" || resize == "center-crop", "--resize must be squash or center-crop, got '",
               resize, "'");
  train.validate();
  runtime.validate();
}

void GradcamConfig::validate() const {
  WISESR_CHECK(!checkpoint.empty(), "--checkpoint is required");
  WISESR_CHECK(!out.empty(), "--out is required (the directory for the PNGs and index.md)");
  WISESR_CHECK(!data.dir.empty(), "--data.dir is required (a directory written by 'wisesr prep')");
  WISESR_CHECK(count >= 1, "--count must be >= 1, got ", count);
  WISESR_CHECK(class_of == "predicted" || class_of == "true", "--class-of must be predicted or true, got '",
               class_of, "'");
  train.validate();
  runtime.validate();
}

void ExportConfig::validate() const {
  WISESR_CHECK(!checkpoint.empty(), "--checkpoint is required");
  check_not_a_directory("--checkpoint", checkpoint);
  check_not_a_directory("--out", out);
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
  WISESR_CHECK(steps >= 1 && steps <= kMaxIterations, "--steps must be in [1, ", kMaxIterations, "], got ",
               steps);
  WISESR_CHECK(warmup >= 0 && warmup <= kMaxIterations, "--warmup must be in [0, ", kMaxIterations, "], got ",
               warmup);
  WISESR_CHECK(breakdown_steps >= 0 && breakdown_steps <= kMaxIterations, "--breakdown-steps must be in [0, ",
               kMaxIterations, "], got ", breakdown_steps);
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
  WISESR_CHECK(batches >= 1 && batches <= kMaxIterations, "--batches must be in [1, ", kMaxIterations,
               "], got ", batches);
  WISESR_CHECK(warmup >= 0 && warmup <= kMaxIterations, "--warmup must be in [0, ", kMaxIterations, "], got ",
               warmup);
  check_thread_option("--threads", threads);
  data.validate();
  augment.validate();
  train.validate();
  runtime.validate();
}

void BenchCommConfig::validate() const {
  parse_sizes(sizes);
  WISESR_CHECK(iters >= 1 && iters <= kMaxIterations, "--iters must be in [1, ", kMaxIterations, "], got ",
               iters);
  WISESR_CHECK(warmup >= 0 && warmup <= kMaxIterations, "--warmup must be in [0, ", kMaxIterations, "], got ",
               warmup);
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
