#pragma once
// What a training run reports, as callbacks the loop calls (as ggml-opt's epoch callback): the loop
// (train/train_loop.cpp) knows nothing of terminals or files; reporters turn its events into them.
//   on_step_window   every --train.log_every steps and at an epoch's last step: metrics reduced over ranks
//   on_stop          a stop signal every rank agreed on (before the first step, or after a step)
//   on_epoch         after an epoch's training and its evaluation, before its checkpoint
//   on_checkpoint    after rank 0 wrote a checkpoint
//   on_finish        once, at the end (completed, max_steps or preempted)
// Two reporters come with it, both on rank 0: RunFilesReporter (the run directory's config.ini,
// metrics.jsonl, epochs.csv, summary.json and --train.status_file) and ConsoleReporter (the progress
// bar or log lines, validation results, the closing line). Later reporting (TensorBoard event files,
// plots) is another RunReporter added to the list.
//
// Usage:
//   Reporters reporters;
//   reporters.add(std::make_unique<RunFilesReporter>(run_dir, config_ini, status_file));
//   reporters.add(std::make_unique<ConsoleReporter>(Progress::kAuto));
//   reporters.on_step_window(window);  ...  reporters.on_finish(summary);

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "train/metrics.h"
#include "train/train_options.h"

namespace wisesr::train {

/// A logging window of training steps; the tally is reduced over all ranks, the times are rank 0's.
struct StepWindow {
  int epoch = 0;  // 1-based
  int epochs = 0;
  int64_t step = 0;        // optimizer steps done in total
  int64_t epoch_step = 0;  // steps of this epoch done (1-based), of epoch_steps
  int64_t epoch_steps = 0;
  bool last = false;  // the epoch's last window (its last step, max_steps or a stop)
  Tally tally;
  double lr = 0;
  int64_t steps = 0;        // steps in the window
  double seconds = 0;       // wall time of the window
  double data_wait_s = 0;   // of it, waiting for batches
  double peak_mem_gib = 0;  // CUDA allocator peak (0 on the CPU)
  double eta_s = 0;         // to the end of the run at the pace since the loop started

  double img_per_s() const { return seconds > 0 ? tally.count / seconds : 0; }
  double step_time_s() const { return steps > 0 ? seconds / static_cast<double>(steps) : 0; }
  double data_wait_frac() const { return seconds > 0 ? data_wait_s / seconds : 0; }
};

struct EpochReport {
  int epoch = 0;  // 1-based
  int64_t step = 0;
  double lr = 0;             // at the epoch's last step
  bool complete = false;     // every step of the epoch ran (no stop, no max_steps)
  Tally train;               // reduced over ranks
  std::optional<Tally> val;  // this epoch's validation, if it ran
  Tally latest_val;          // the newest validation so far (count 0: none yet)
  double seconds = 0;        // training time of the epoch (before evaluation)
  double data_wait_s = 0;
  double peak_mem_gib = 0;
};

struct CheckpointReport {
  std::filesystem::path path;
  int64_t step = 0;
  std::string why;  // periodic | epoch end | preempted | max_steps
};

struct RunSummary {
  std::string backbone, head;
  int64_t params = 0;
  int ranks = 1;
  int64_t global_batch = 0;
  int64_t steps = 0;
  std::string status;        // completed | max_steps | preempted
  int exit_code = 0;         // what main returns for it (--train.preempt_exit_code after a stop)
  std::string steps_run_as;  // TrainStep::describe()
  int64_t resumed_from_step = -1;
  double seconds = 0;
  std::filesystem::path checkpoint;
  Tally train, val;
  double best_top1 = -1;  // -1: no validation yet
};

/// Receives the loop's events; every callback defaults to doing nothing.
class RunReporter {
 public:
  virtual ~RunReporter() = default;
  virtual void on_step_window(const StepWindow&) {}
  virtual void on_stop(int /*signal*/, int64_t /*step*/, bool /*before_first_step*/) {}
  virtual void on_epoch(const EpochReport&) {}
  virtual void on_checkpoint(const CheckpointReport&) {}
  virtual void on_finish(const RunSummary&) {}
};

/// Hands every event to each reporter added, in order (none on ranks other than 0).
class Reporters final : public RunReporter {
 public:
  void add(std::unique_ptr<RunReporter> r) { list_.push_back(std::move(r)); }
  void on_step_window(const StepWindow& w) override;
  void on_stop(int signal, int64_t step, bool before_first_step) override;
  void on_epoch(const EpochReport& e) override;
  void on_checkpoint(const CheckpointReport& c) override;
  void on_finish(const RunSummary& s) override;

 private:
  std::vector<std::unique_ptr<RunReporter>> list_;
};

/// How this start of a run began: what RunFilesReporter records of it.
struct RunStart {
  std::string config_ini;          // this start's resolved config (config::to_ini)
  int64_t resumed_from_step = -1;  // the checkpoint's step; -1: a fresh start
  std::filesystem::path checkpoint;
  std::vector<std::string> changes;  // settings that differ from the checkpoint's (ConfigChange::describe)
  bool forced = false;               // --train.resume_force let settings that define the experiment change
};

/// The run directory's files, written by rank 0:
///   config.ini         this start's resolved config
///   config-history/    NNN.ini per start (fresh or resumed), never overwritten: when and from which
///                      checkpoint it began, what it changed, and its resolved config
///   metrics.jsonl      one JSON object per logging window and per epoch
///   epochs.csv         one row per epoch
///   summary.json, the status file   at the end
/// At construction metrics.jsonl and epochs.csv are cut back to what the checkpoint covers (records of
/// steps up to resumed_from_step, complete epochs only; everything on a fresh start) and rewritten
/// atomically, so the steps a resume replays are recorded once. Lines are appended as they come.
class RunFilesReporter final : public RunReporter {
 public:
  RunFilesReporter(const std::filesystem::path& run_dir, const RunStart& start, std::string status_file);
  ~RunFilesReporter() override;
  void on_step_window(const StepWindow& w) override;
  void on_epoch(const EpochReport& e) override;
  void on_finish(const RunSummary& s) override;

 private:
  struct Files;
  std::filesystem::path run_dir_;
  std::string status_file_;
  std::unique_ptr<Files> files_;
};

/// Cut a run's metrics.jsonl (or epochs.csv) back to the records a checkpoint at `step` covers: records of
/// steps after it, epoch records of incomplete epochs (the resume writes the complete one) and torn lines
/// are dropped; step -1 drops every record. Rewritten atomically when anything is dropped; returns how
/// many records were dropped (0 when the file does not exist).
size_t cut_metrics_jsonl(const std::filesystem::path& path, int64_t step);
size_t cut_epochs_csv(const std::filesystem::path& path, int64_t step);

/// Rank 0's terminal: a redrawn bar with ETA (--train.progress bar, or auto on a terminal) or one log line
/// per window; validation results, stop signals, checkpoints (debug level) and the closing line.
class ConsoleReporter final : public RunReporter {
 public:
  explicit ConsoleReporter(Progress mode);
  void on_step_window(const StepWindow& w) override;
  void on_stop(int signal, int64_t step, bool before_first_step) override;
  void on_epoch(const EpochReport& e) override;
  void on_checkpoint(const CheckpointReport& c) override;
  void on_finish(const RunSummary& s) override;

 private:
  void draw(const StepWindow& w);
  void end_line();

  bool bar_;
  bool open_ = false;  // the bar's line is not ended yet
  Clock::time_point last_draw_;
};

/// "h:mm:ss".
std::string format_duration(double seconds);

}  // namespace wisesr::train
