#pragma once
// Is a resume the same experiment? The checkpoint holds the resolved config of the run that wrote it
// (config::to_ini); a resume compares it with its own, key by key.
//
// Note [What a resume may change]
// A setting either defines the experiment (what is trained, on what, how: model, data, augmentation,
// optimizer, schedule, seed, precision, the global batch) or only how the run is carried out (how long,
// logging, checkpointing, timeouts, workers, device layout and communication). The second kind is listed
// in resume_may_change() and may differ: `--train.epochs 90` extends a 60-epoch run, a requeue may use
// more data workers. Everything else must match, so an option added later defines the experiment until
// someone decides otherwise. Two rules need more than a key:
//   * the per-rank batch size and accumulation may change when the global batch (batch x accumulation x
//     ranks) stays the same, e.g. 2 ranks x 64 resumed as 4 ranks x 32;
//   * the world size alone may change (docs/training.md, "Another world size": the position is in global
//     samples, the learning rate curve is in fractional epochs), and then the global batch changes with it.
// data.dir may change (a dataset copied to local disk); that the classes are the same is checked anyway.
// A refused resume lists every difference; --train.resume_force resumes anyway and says so.

#include <cstdint>
#include <string>
#include <vector>

namespace wisesr::train {

struct ConfigChange {
  std::string key;  // "section.key"
  std::string before, after;
  std::string describe() const;  // "train.epochs: 3 -> 4"
};

struct ResumeCheck {
  std::vector<ConfigChange> refused;  // settings that define the experiment
  std::vector<ConfigChange> allowed;  // settings a resume may change
};

/// Whether `section.key` may differ between a checkpoint and its resume (Note [What a resume may change]).
bool resume_may_change(const std::string& key);

/// Compares the checkpoint's resolved config with this run's (both config::to_ini text). world_before is
/// the world size that wrote the checkpoint, world_now this run's. Keys only one side has are not compared
/// (a checkpoint of an older version).
ResumeCheck check_resume(const std::string& checkpoint_ini, const std::string& now_ini, int64_t world_before,
                         int64_t world_now);

/// The resolved config as (section.key, value) pairs, in file order.
std::vector<std::pair<std::string, std::string>> ini_values(const std::string& ini);

}  // namespace wisesr::train
