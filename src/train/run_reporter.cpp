#include "train/run_reporter.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/stop_signal.h"

namespace wisesr::train {
namespace {

namespace stdfs = std::filesystem;

nlohmann::json tally_json(const Tally& t) {
  return {{"loss", t.mean_loss()}, {"top1", t.top1_acc()}, {"top5", t.top5_acc()}, {"samples", t.count}};
}

// Appends lines to a CSV file, writing the header first when the file is new or empty.
class CsvWriter {
 public:
  CsvWriter(const stdfs::path& path, const std::string& header) : path_(path) {
    const bool fresh = !stdfs::exists(path) || stdfs::file_size(path) == 0;
    out_.open(path, std::ios::app);
    WISESR_CHECK(out_.good(), "cannot open '", path.string(), "' for writing");
    if (fresh) write(header);
  }
  void write(const std::string& line) {
    out_ << line << '\n';
    out_.flush();
    WISESR_CHECK(out_.good(), "write to '", path_.string(), "' failed (disk full?)");
  }

 private:
  stdfs::path path_;
  std::ofstream out_;
};

std::string csv_value(const Tally& t, double (Tally::*metric)() const) {
  return t.count > 0 ? std::to_string((t.*metric)()) : "";
}

}  // namespace

std::string format_duration(double s) {
  const auto total = static_cast<int64_t>(std::max(0.0, s));
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
  return buf;
}

// ---- Reporters ------------------------------------------------------------------------------------

void Reporters::on_step_window(const StepWindow& w) {
  for (auto& r : list_) r->on_step_window(w);
}
void Reporters::on_stop(int signal, int64_t step, bool before_first_step) {
  for (auto& r : list_) r->on_stop(signal, step, before_first_step);
}
void Reporters::on_epoch(const EpochReport& e) {
  for (auto& r : list_) r->on_epoch(e);
}
void Reporters::on_checkpoint(const CheckpointReport& c) {
  for (auto& r : list_) r->on_checkpoint(c);
}
void Reporters::on_finish(const RunSummary& s) {
  for (auto& r : list_) r->on_finish(s);
}

// ---- RunFilesReporter -----------------------------------------------------------------------------

struct RunFilesReporter::Files {
  JsonlWriter metrics;
  CsvWriter epochs;
};

RunFilesReporter::RunFilesReporter(const stdfs::path& run_dir, const std::string& config_ini,
                                   std::string status_file)
    : run_dir_(run_dir), status_file_(std::move(status_file)) {
  fs::write_file_atomic(run_dir / "config.ini", config_ini);
  files_ = std::make_unique<Files>(
      Files{JsonlWriter(run_dir / "metrics.jsonl"),
            CsvWriter(run_dir / "epochs.csv",
                      "epoch,step,lr,train_loss,train_top1,train_top5,val_loss,val_top1,"
                      "val_top5,img_per_s,data_wait_frac,seconds,peak_mem_gib,complete")});
}

RunFilesReporter::~RunFilesReporter() = default;

void RunFilesReporter::on_step_window(const StepWindow& w) {
  files_->metrics.write(nlohmann::json({{"kind", "train"},
                                        {"epoch", w.epoch},
                                        {"step", w.step},
                                        {"loss", w.tally.mean_loss()},
                                        {"top1", w.tally.top1_acc()},
                                        {"top5", w.tally.top5_acc()},
                                        {"lr", w.lr},
                                        {"img_per_s", w.img_per_s()},
                                        {"step_time_s", w.step_time_s()},
                                        {"data_wait_s", w.data_wait_s},
                                        {"data_wait_frac", w.data_wait_frac()},
                                        {"peak_mem_gib", w.peak_mem_gib}})
                            .dump());
}

void RunFilesReporter::on_epoch(const EpochReport& e) {
  nlohmann::json j = {{"kind", "epoch"},     {"epoch", e.epoch},       {"step", e.step},
                      {"lr", e.lr},          {"complete", e.complete}, {"train", tally_json(e.train)},
                      {"seconds", e.seconds}};
  if (e.val) j["val"] = tally_json(*e.val);
  files_->metrics.write(j.dump());
  const double img_s = e.seconds > 0 ? e.train.count / e.seconds : 0;
  const Tally& v = e.latest_val;
  char row[512];
  std::snprintf(row, sizeof(row), "%d,%lld,%.6g,%.6f,%.6f,%.6f,%s,%s,%s,%.1f,%.4f,%.1f,%.3f,%d", e.epoch,
                static_cast<long long>(e.step), e.lr, e.train.mean_loss(), e.train.top1_acc(),
                e.train.top5_acc(), csv_value(v, &Tally::mean_loss).c_str(),
                csv_value(v, &Tally::top1_acc).c_str(), csv_value(v, &Tally::top5_acc).c_str(), img_s,
                e.seconds > 0 ? e.data_wait_s / e.seconds : 0.0, e.seconds, e.peak_mem_gib,
                e.complete ? 1 : 0);
  files_->epochs.write(row);
}

void RunFilesReporter::on_finish(const RunSummary& s) {
  nlohmann::json summary = {{"backbone", s.backbone},
                            {"head", s.head},
                            {"params", s.params},
                            {"ranks", s.ranks},
                            {"global_batch", s.global_batch},
                            {"steps", s.steps},
                            {"status", s.status},
                            {"steps_run_as", s.steps_run_as},
                            {"resumed_from_step", s.resumed_from_step},
                            {"train_seconds", s.seconds},
                            {"checkpoint", s.checkpoint.string()},
                            {"train", tally_json(s.train)}};
  if (s.val.count > 0) summary["val"] = tally_json(s.val);
  if (s.best_top1 >= 0) summary["best_val_top1"] = s.best_top1;
  fs::write_file_atomic(run_dir_ / "summary.json", summary.dump(2) + "\n");
  if (!status_file_.empty())
    fs::write_file_atomic(status_file_, s.status + " " + std::to_string(s.exit_code) + "\n");
}

// ---- ConsoleReporter ------------------------------------------------------------------------------

ConsoleReporter::ConsoleReporter(Progress mode)
    : bar_(mode == Progress::kBar || (mode == Progress::kAuto && isatty(fileno(stderr)))),
      last_draw_(Clock::now() - std::chrono::seconds(1)) {}

void ConsoleReporter::on_step_window(const StepWindow& w) {
  if (bar_) {
    draw(w);
  } else {
    LOG_RANK0("epoch " << w.epoch << "/" << w.epochs << " step " << w.epoch_step << "/" << w.epoch_steps
                       << " loss " << w.tally.mean_loss() << " top1 " << w.tally.top1_acc() << " lr " << w.lr
                       << " " << static_cast<int64_t>(w.img_per_s()) << " img/s, data wait "
                       << static_cast<int>(100 * w.data_wait_frac()) << "%, ETA "
                       << format_duration(w.eta_s));
  }
  if (w.last) end_line();
}

void ConsoleReporter::draw(const StepWindow& w) {
  if (seconds_since(last_draw_) < 0.2 && w.epoch_step < w.epoch_steps) return;
  last_draw_ = Clock::now();
  constexpr int kWidth = 24;
  const int filled = w.epoch_steps > 0 ? static_cast<int>(kWidth * w.epoch_step / w.epoch_steps) : kWidth;
  std::string bar(static_cast<size_t>(filled), '=');
  bar.resize(kWidth, ' ');
  std::fprintf(stderr, "\r[wisesr] epoch %d/%d [%s] %lld/%lld loss %.4f top1 %.3f %.0f img/s ETA %s   ",
               w.epoch, w.epochs, bar.c_str(), static_cast<long long>(w.epoch_step),
               static_cast<long long>(w.epoch_steps), w.tally.mean_loss(), w.tally.top1_acc(), w.img_per_s(),
               format_duration(w.eta_s).c_str());
  std::fflush(stderr);
  open_ = true;
}

void ConsoleReporter::end_line() {
  if (open_) std::fputc('\n', stderr);
  open_ = false;
}

void ConsoleReporter::on_stop(int signal, int64_t step, bool before_first_step) {
  end_line();
  if (before_first_step) {
    LOG_RANK0("signal " << signal << " (" << StopSignalScope::describe(signal)
                        << ") before the first step: stopping without training");
  } else {
    LOG_RANK0("signal " << signal << " (" << StopSignalScope::describe(signal) << "): checkpointing at step "
                        << step << " and stopping");
  }
}

void ConsoleReporter::on_epoch(const EpochReport& e) {
  end_line();
  if (!e.val) return;
  LOG_RANK0("epoch " << e.epoch << " validation: top1 " << e.val->top1_acc() << " top5 " << e.val->top5_acc()
                     << " loss " << e.val->mean_loss() << " (" << static_cast<int64_t>(e.val->count)
                     << " samples)");
}

void ConsoleReporter::on_checkpoint(const CheckpointReport& c) {
  LOG_DEBUG("checkpoint (" << c.why << "): " << c.path.string());
}

void ConsoleReporter::on_finish(const RunSummary& s) {
  const bool preempted = s.status == "preempted";
  LOG_RANK0((preempted ? "preempted: " : "done: ")
            << s.steps << " steps in " << s.seconds << " s; checkpoint " << s.checkpoint.string()
            << (preempted ? " (continue with --train.resume auto)" : ""));
}

}  // namespace wisesr::train
