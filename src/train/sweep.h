#pragma once
// `wisesr sweep`: the rows of a table (one config file: training options + a [sweep] section) trained one
// after another, each row data-parallel over all ranks exactly as `wisesr train` would run it, with the
// results beside the paper's.
//
//   [sweep]
//   name = Table 5: sub-ImageNet-70 at 224x224 from scratch
//   classes = 70                       # the dataset's classes (parameter counts need them before training)
//   paper = where the paper_* figures come from
//   row = xception gap paper_params=21004910 paper_top1=0.71
//   row = resnet50v2 wise model.pretrained=weights/resnet50v2.pt train.batch_size=15
//
// A row is BACKBONE HEAD and then key=value pairs: id= (default BACKBONE-HEAD), the paper's figures
// (paper_params, paper_top1, paper_top5, as data; '-' or absent = not known) and training options
// (section.key=value) for that row only. Precedence: command line > row > table > defaults; the rows choose
// backbone and head, so --model.backbone/--model.head are refused on the command line.
//
// Usage:
//   mpirun -np 8 wisesr sweep --config configs/paper/table5.cfg --data.dir shards/sub-imagenet-70
//   wisesr sweep --config configs/paper/table5.cfg --dry-run       # the rows and their parameter counts
//
// Note [Sweep directory]
// ~~~~~~~~~~~~~~~~~~~~~~
// OUT/<row id>[-seedK]/ is each run's directory (train/train_loop.h); OUT/results.csv and OUT/results.md are
// rewritten (atomically, by rank 0) after every run. A run whose summary.json says completed or max_steps
// is finished and skipped; any other run directory is resumed with --train.resume auto (the newest valid
// checkpoint, or a fresh start): a killed or preempted sweep, started again with the same command,
// continues with the run it was in, at the step of its last checkpoint, and the resume check
// (train/resume_check.h) refuses a row whose settings changed in between. A stop signal ends the sweep
// like `wisesr train` (checkpoint, then --train.preempt_exit_code). Parameter counts are the
// Keras-comparable ones (`wisesr params`); a row whose count differs from its paper_params is an error
// before anything is trained, and --dry-run lists every row with both counts.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "comm/mpi_runtime.h"
#include "config/config.h"

namespace wisesr::train {

/// One row of the table, resolved.
struct SweepRow {
  int number = 0;  // 1-based, in file order
  std::string id;  // run directory name (before -seedK)
  std::string backbone, head;
  std::vector<std::pair<std::string, std::string>> options;  // the row's section.key=value pairs
  std::optional<int64_t> paper_params;
  std::optional<double> paper_top1, paper_top5;  // fractions in [0, 1]
  config::Config cfg;                            // the row's training options, resolved
  int64_t params = 0;                            // Keras-comparable count
};

/// Parses a `row = ...` line (number is its 1-based position); throws naming the file and the row.
SweepRow parse_sweep_row(const std::string& line, int number, const std::string& file);

/// The rows --rows selects (all when empty), resolved (config and parameter count). Throws on an unknown
/// or duplicate row id, and on rows whose parameter count differs from paper_params (listing each).
std::vector<SweepRow> resolve_sweep_rows(const config::SweepConfig& cfg);

/// The sweep directory (--out, else <train.out_dir>/sweep-<table file stem>).
std::string sweep_dir(const config::SweepConfig& cfg);

/// What --dry-run prints: one line per row and seed: backbone, head, image_size, classes, params,
/// paper_params.
std::string format_dry_run(const config::SweepConfig& cfg, const std::vector<SweepRow>& rows);

struct SweepResult {
  int runs = 0, done = 0;  // runs in the sweep / finished (including earlier invocations)
  bool preempted = false;
};

/// Runs the sweep (cfg validated). Collective over MPI_COMM_WORLD.
SweepResult run_sweep(const config::SweepConfig& cfg, const comm::ProcessGroupInfo& info);

}  // namespace wisesr::train
