#pragma once
// --train.tensorboard: TensorBoard event files in the run directory (core/tb_event_file.h), written by
// rank 0 as another RunReporter. What they hold, every value at the optimizer step it belongs to (the
// same `step` as metrics.jsonl):
//   train/loss, train/top1, train/top5, train/lr            per logging window (reduced over ranks)
//   perf/img_per_s, perf/step_time_s, perf/data_wait_frac  per logging window (+ perf/peak_mem_gib on a GPU)
//   epoch/train_{loss,top1,top5}, epoch/val_{loss,top1,top5} (when it ran), epoch/lr, epoch/seconds and
//   epoch/progress (epochs done: the epoch number after a complete epoch, a fraction below it after a stop
//   or max_steps)                                           per epoch, at its last step
//   config (text)                                           per start: how it began and the resolved config
// Each start writes a new file. Like metrics.jsonl, the files are first cut back to what the checkpoint
// covers (scalars up to its step, no incomplete epoch's record, texts before it; everything on a fresh
// start), so a resumed run shows each step once.
//
// Usage: reporters.add(make_tensorboard_reporter(run_dir, start));   // throws if built without protobuf

#include <filesystem>
#include <memory>

#include "train/run_reporter.h"

namespace wisesr::train {

/// Whether this build writes TensorBoard event files (protobuf was found at configure time).
bool tensorboard_available();

/// The --train.tensorboard reporter for a run directory; throws when !tensorboard_available().
std::unique_ptr<RunReporter> make_tensorboard_reporter(const std::filesystem::path& run_dir,
                                                       const RunStart& start);

}  // namespace wisesr::train
