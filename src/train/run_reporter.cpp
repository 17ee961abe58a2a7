#include "train/run_reporter.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/clock.h"
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
  CsvWriter(const stdfs::path& path, const std::string& header) : out_(path) {
    if (stdfs::file_size(path) == 0) write(header);  // new (just created) or empty
  }
  void write(const std::string& line) { out_.write_line(line); }

 private:
  fs::AppendFile out_;
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

namespace {

// Lines of a file, without their newlines ("" when it does not exist).
std::vector<std::string> read_lines(const stdfs::path& path) {
  std::vector<std::string> lines;
  std::error_code ec;
  if (!stdfs::exists(path, ec)) return lines;
  std::istringstream in(fs::read_file(path));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void rewrite_lines(const stdfs::path& path, const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& l : lines) text.append(l).push_back('\n');
  fs::write_file_atomic(path, text);
}

// config-history/NNN.ini: one per start, numbered from 001.
void record_start(const stdfs::path& run_dir, const RunStart& start) {
  const stdfs::path dir = run_dir / "config-history";
  fs::ensure_dir(dir);
  int n = 0;
  for (const auto& e : stdfs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.size() == 7 && name.compare(3, 4, ".ini") == 0)
      n = std::max(n, std::atoi(name.substr(0, 3).c_str()));
  }
  std::ostringstream os;
  os << "# start " << n + 1 << " at " << utc_timestamp() << ": ";
  if (start.resumed_from_step < 0) {
    os << "a fresh start\n";
  } else {
    os << "resumed from step " << start.resumed_from_step << " (" << start.checkpoint.string() << ")"
       << (start.forced ? " with --train.resume_force" : "") << "\n";
    for (const auto& c : start.changes) os << "# changed " << c << "\n";
  }
  os << start.config_ini;
  char name[16];
  std::snprintf(name, sizeof(name), "%03d.ini", n + 1);
  fs::write_file_atomic(dir / name, os.str());
}

}  // namespace

size_t cut_metrics_jsonl(const stdfs::path& path, int64_t step) {
  const auto lines = read_lines(path);
  std::vector<std::string> kept;
  for (const auto& line : lines) {
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) continue;  // torn by a kill
    const int64_t s = j.value("step", int64_t{0});
    const bool incomplete_epoch = j.value("kind", "") == "epoch" && !j.value("complete", true);
    if (step >= 0 && s <= step && !incomplete_epoch) kept.push_back(line);
  }
  if (kept.size() != lines.size()) rewrite_lines(path, kept);
  return lines.size() - kept.size();
}

size_t cut_epochs_csv(const stdfs::path& path, int64_t step) {
  const auto lines = read_lines(path);
  if (lines.empty()) return 0;
  std::vector<std::string> kept{lines.front()};  // the header
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string& row = lines[i];
    const auto a = row.find(','), b = a == std::string::npos ? a : row.find(',', a + 1);
    const auto last = row.rfind(',');
    if (b == std::string::npos || last + 2 != row.size()) continue;  // torn by a kill
    const int64_t s = std::atoll(row.substr(a + 1, b - a - 1).c_str());
    if (step >= 0 && s <= step && row.back() == '1') kept.push_back(row);
  }
  if (kept.size() != lines.size()) rewrite_lines(path, kept);
  return lines.size() - kept.size();
}

RunFilesReporter::RunFilesReporter(const stdfs::path& run_dir, const RunStart& start, std::string status_file)
    : run_dir_(run_dir), status_file_(std::move(status_file)) {
  const size_t dropped = cut_metrics_jsonl(run_dir / "metrics.jsonl", start.resumed_from_step) +
                         cut_epochs_csv(run_dir / "epochs.csv", start.resumed_from_step);
  if (dropped > 0)
    LOG_RANK0("metrics.jsonl, epochs.csv: " << dropped << " record(s) after the "
                                            << (start.resumed_from_step < 0 ? "start" : "checkpoint")
                                            << " removed (they are recorded again as the steps rerun)");
  record_start(run_dir, start);
  fs::write_file_atomic(run_dir / "config.ini", start.config_ini);
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
