#include "train/tensorboard_reporter.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/log.h"
#include "wisesr/build_config.h"

#if WISESR_HAVE_TENSORBOARD
#include "core/tb_event_file.h"
#endif

namespace wisesr::train {

bool tensorboard_available() { return WISESR_HAVE_TENSORBOARD != 0; }

#if WISESR_HAVE_TENSORBOARD
namespace {

// An epoch record written after a stop or max_steps: its progress is short of a whole epoch.
bool incomplete_epoch(const tb::Event& e) {
  const tb::Scalar* p = e.scalar("epoch/progress");
  return p != nullptr && p->value != std::floor(p->value);
}

// The text plugin renders Markdown: the config as an indented (code) block under a line on the start.
std::string start_markdown(const RunStart& start) {
  std::ostringstream os;
  if (start.resumed_from_step < 0) {
    os << "A fresh start.\n\n";
  } else {
    os << "Resumed from step " << start.resumed_from_step << " (`" << start.checkpoint.string() << "`)"
       << (start.forced ? " with --train.resume_force" : "") << ".\n\n";
    for (const auto& c : start.changes) os << "* changed " << c << "\n";
    if (!start.changes.empty()) os << "\n";
  }
  std::istringstream ini(start.config_ini);
  for (std::string line; std::getline(ini, line);) os << "    " << line << "\n";
  return os.str();
}

void add_tally(std::vector<tb::Scalar>& out, const std::string& prefix, const Tally& t) {
  out.push_back({prefix + "loss", t.mean_loss()});
  out.push_back({prefix + "top1", t.top1_acc()});
  out.push_back({prefix + "top5", t.top5_acc()});
}

class TensorBoardReporter final : public RunReporter {
 public:
  TensorBoardReporter(const std::filesystem::path& run_dir, const RunStart& start) {
    const int64_t kept = start.resumed_from_step;
    const size_t dropped = tb::cut_event_files(run_dir, [kept](const tb::Event& e) {
      if (!e.texts.empty()) return e.step < kept;
      return e.step <= kept && !incomplete_epoch(e);
    });
    if (dropped > 0)
      LOG_RANK0("TensorBoard event files: " << dropped << " event(s) after the "
                                            << (kept < 0 ? "start" : "checkpoint") << " removed");
    writer_ = std::make_unique<tb::EventFileWriter>(run_dir);
    writer_->add_text(std::max<int64_t>(kept, 0), "config", start_markdown(start));
  }

  void on_step_window(const StepWindow& w) override {
    std::vector<tb::Scalar> s;
    add_tally(s, "train/", w.tally);
    s.push_back({"train/lr", w.lr});
    s.push_back({"perf/img_per_s", w.img_per_s()});
    s.push_back({"perf/step_time_s", w.step_time_s()});
    s.push_back({"perf/data_wait_frac", w.data_wait_frac()});
    if (w.peak_mem_gib > 0) s.push_back({"perf/peak_mem_gib", w.peak_mem_gib});
    writer_->add_scalars(w.step, s);
    epoch_fraction_ =
        w.epoch_steps > 0 ? static_cast<double>(w.epoch_step) / static_cast<double>(w.epoch_steps) : 0;
  }

  void on_epoch(const EpochReport& e) override {
    std::vector<tb::Scalar> s;
    add_tally(s, "epoch/train_", e.train);
    if (e.val) add_tally(s, "epoch/val_", *e.val);
    s.push_back({"epoch/lr", e.lr});
    s.push_back({"epoch/seconds", e.seconds});
    // Stored as float: keep an incomplete epoch's fraction visibly short of the whole number.
    const double progress = e.complete ? e.epoch : e.epoch - 1 + std::clamp(epoch_fraction_, 0.001, 0.999);
    s.push_back({"epoch/progress", progress});
    writer_->add_scalars(e.step, s);
  }

 private:
  std::unique_ptr<tb::EventFileWriter> writer_;
  double epoch_fraction_ = 0;  // of the current epoch, at the last window
};

}  // namespace

std::unique_ptr<RunReporter> make_tensorboard_reporter(const std::filesystem::path& run_dir,
                                                       const RunStart& start) {
  return std::make_unique<TensorBoardReporter>(run_dir, start);
}

#else

std::unique_ptr<RunReporter> make_tensorboard_reporter(const std::filesystem::path&, const RunStart&) {
  WISESR_THROW(
      "--train.tensorboard: this wisesr was built without TensorBoard support (protobuf was not found "
      "when it was configured: install libprotobuf-dev and protobuf-compiler, then reconfigure)");
}

#endif

}  // namespace wisesr::train
