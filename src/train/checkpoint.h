#pragma once
// Checkpoints: model parameters and buffers, optimizer state and the metadata needed to rebuild the
// model (resolved config, classes, image size) in one LibTorch archive, written atomically by rank 0.

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

namespace wisesr::train {

struct CheckpointMeta {
  std::string config_ini;  // resolved training config (config::to_ini)
  std::vector<std::string> class_names;
  int64_t image_size = 0;
  int64_t epoch = 0;  // epochs completed
  int64_t step = 0;   // optimizer steps completed
  std::string tool_version;
};

/// Write model (+ optimizer when given) and meta to path via temp file + fsync + rename.
void save_checkpoint(const std::filesystem::path& path, torch::nn::Module& model,
                     torch::optim::Optimizer* optimizer, const CheckpointMeta& meta);

/// Reads a checkpoint once; the model is built from meta() and then filled by load_model().
class CheckpointReader {
 public:
  /// Throws naming the file if it is missing or not a wisesr checkpoint.
  explicit CheckpointReader(const std::filesystem::path& path);
  const CheckpointMeta& meta() const { return meta_; }
  /// Copy parameters/buffers into model; throws naming the file on a missing key or shape mismatch.
  void load_model(torch::nn::Module& model);
  void load_optimizer(torch::optim::Optimizer& optimizer);

 private:
  std::filesystem::path path_;
  torch::serialize::InputArchive archive_;
  CheckpointMeta meta_;
};

/// `wisesr export`: rebuild the model of a checkpoint and write its weights for Python (models/weights.h).
void export_checkpoint(const std::filesystem::path& checkpoint, const std::filesystem::path& out);

}  // namespace wisesr::train
