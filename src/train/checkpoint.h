#pragma once
// Checkpoints: model parameters and buffers, optimizer state, the training position and the metadata
// needed to rebuild the model (resolved config, classes, image size) in one LibTorch archive, written
// by rank 0 to a temporary file, fsync'ed and renamed; then a "<file>.sha256" sidecar (the archive's own
// zip CRCs are not checked by LibTorch's reader, so a flipped byte would otherwise load silently).
// No RNG state is stored: the trainer reseeds every step from (seed, step, rank), and augmentation is a
// function of (seed, epoch, record), so the position alone determines what comes next.
//
// Usage:
//   CheckpointDirectory ckpts(run_dir / "checkpoints", /*keep=*/3);        // rank 0
//   auto path = ckpts.save(model, &optimizer, meta);   // step-N.pt + sidecar, last.pt, older ones pruned
//   ckpts.mark_best(path);                             // best.pt
//   CheckpointReader reader(ckpts.list().front().second);  reader.load_model(model);
//
// Note [Checkpoint files]
// ~~~~~~~~~~~~~~~~~~~~~~~
// A run's checkpoints/ holds step-NNNNNNNNNN.pt (ten digits, so names sort by step) each with its
// .sha256 sidecar; last.pt, a symlink to the newest, replaced atomically (a new link renamed over the old
// one); best.pt, a hard link to (or, where the filesystem has none, a copy of) the checkpoint with the
// best validation top-1, with its own sidecar, so pruning its original never removes it. Only the
// newest --train.keep_checkpoints step files are kept. `--train.resume auto` tries the step files newest
// first and skips any that fail their checksum.
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace wisesr::train {

struct CheckpointMeta {
  std::string config_ini;  // resolved training config (config::to_ini)
  std::vector<std::string> class_names;
  int64_t image_size = 0;
  int64_t epoch = 0;         // epochs completed
  int64_t step = 0;          // optimizer steps completed
  int64_t epoch_sample = 0;  // global samples consumed of epoch `epoch` (mid-epoch checkpoints; else 0)
  double best_top1 = -1;     // best validation top-1 so far (-1: none yet)
  double loss_scale = 0;     // fp16 dynamic loss scale (0: not fp16)
  int64_t world_size = 1;    // of the run that wrote it (information; a resume may use another)
  std::string tool_version;
};

class Optimizer;

/// Write model (+ optimizer when given) and meta to path via temp file + fsync + rename, then the sidecar.
/// before_commit (fault injection in tests) runs once the temporary file is written, before the rename.
void save_checkpoint(const std::filesystem::path& path, torch::nn::Module& model, const Optimizer* optimizer,
                     const CheckpointMeta& meta, const std::function<void()>& before_commit = {});

/// Checks the sidecar checksum (when present); throws naming the file if it does not match.
void verify_checkpoint_file(const std::filesystem::path& path);

/// Make `alias` (e.g. best.pt) the same checkpoint, atomically: a hard link (a copy where the filesystem
/// has none), so removing the original later never removes it; with its own sidecar.
void alias_checkpoint(const std::filesystem::path& checkpoint, const std::filesystem::path& alias);

/// Remove a checkpoint and its sidecar (missing files are fine).
void remove_checkpoint(const std::filesystem::path& path);

/// Reads a checkpoint once; the model is built from meta() and then filled by load_model().
class CheckpointReader {
 public:
  /// Throws naming the file if it is missing or not a wisesr checkpoint.
  explicit CheckpointReader(const std::filesystem::path& path);
  const CheckpointMeta& meta() const { return meta_; }
  /// Copy parameters/buffers into model; throws naming the file on a missing key or shape mismatch.
  void load_model(torch::nn::Module& model);
  void load_optimizer(Optimizer& optimizer);

 private:
  std::filesystem::path path_;
  torch::serialize::InputArchive archive_;
  CheckpointMeta meta_;
};

/// The checkpoints/ directory of a run (Note [Checkpoint files]); rank 0 writes it.
class CheckpointDirectory {
 public:
  CheckpointDirectory(std::filesystem::path dir, int keep);
  const std::filesystem::path& dir() const { return dir_; }
  /// <dir>/step-NNNNNNNNNN.pt.
  std::filesystem::path path_for(int64_t step) const;
  /// The step files, newest (highest step) first.
  std::vector<std::pair<int64_t, std::filesystem::path>> list() const;
  /// save_checkpoint() to path_for(meta.step), then last.pt -> it and all but the newest `keep` removed.
  std::filesystem::path save(torch::nn::Module& model, const Optimizer* optimizer, const CheckpointMeta& meta,
                             const std::function<void()>& before_commit = {}) const;
  /// best.pt := checkpoint (alias_checkpoint).
  void mark_best(const std::filesystem::path& checkpoint) const;

 private:
  void update_last_link(const std::filesystem::path& checkpoint) const;
  void prune() const;

  std::filesystem::path dir_;
  int keep_;
};

}  // namespace wisesr::train
