#include "train/sweep.h"

#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "config/cli.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/strings.h"
#include "data/manifest.h"
#include "models/summary.h"
#include "train/train_loop.h"

namespace wisesr::train {
namespace stdfs = std::filesystem;
namespace {

std::optional<double> parse_fraction(const std::string& key, const std::string& text,
                                     const std::string& where) {
  if (text == "-" || text.empty()) return std::nullopt;
  const bool percent = text.back() == '%';
  double v = 0;
  try {
    size_t used = 0;
    v = std::stod(text.substr(0, text.size() - (percent ? 1 : 0)), &used);
    WISESR_CHECK(used == text.size() - (percent ? 1 : 0), "");
  } catch (...) {
    WISESR_THROW(where, ": ", key, "='", printable(text),
                 "' is not a number (a fraction such as 0.713, or 71.3%)");
  }
  if (percent) v /= 100;
  WISESR_CHECK(v >= 0 && v <= 1, where, ": ", key, "=", printable(text), " is not an accuracy in [0, 1]");
  return v;
}

std::optional<int64_t> parse_count(const std::string& key, const std::string& text,
                                   const std::string& where) {
  if (text == "-" || text.empty()) return std::nullopt;
  std::string digits;
  for (char c : text)
    if (c != ',' && c != '_') digits += c;
  WISESR_CHECK(!digits.empty() && digits.size() <= 15 &&
                   std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }),
               where, ": ", key, "='", printable(text), "' is not a parameter count");
  return std::stoll(digits);
}

// "1,2,resnet50-wise" -> the selected rows, in the table's order.
std::vector<SweepRow> select_rows(std::vector<SweepRow> rows, const std::string& wanted,
                                  const std::string& file) {
  if (wanted.empty()) return rows;
  std::set<int> keep;
  std::stringstream ss(wanted);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = trim(item);
    if (item.empty()) continue;
    auto it = std::find_if(rows.begin(), rows.end(), [&](const SweepRow& r) {
      return r.id == item || std::to_string(r.number) == item;
    });
    if (it == rows.end()) {
      std::vector<std::string> ids;
      for (const auto& r : rows) ids.push_back(r.id);
      WISESR_THROW("--rows: '", printable(item), "' is neither a row id nor a row number (1..", rows.size(),
                   ") of '", file, "'; its rows: ", join(ids));
    }
    keep.insert(it->number);
  }
  std::vector<SweepRow> out;
  for (auto& r : rows)
    if (keep.count(r.number)) out.push_back(std::move(r));
  return out;
}

std::string run_name(const SweepRow& row, int seed_index, int seeds) {
  return seeds == 1 ? row.id : row.id + "-seed" + std::to_string(seed_index + 1);
}

// What one run's summary.json says, when it has one.
struct RunRecord {
  std::string status;  // "" = not started or no summary yet
  double top1 = NAN, top5 = NAN, best_top1 = NAN, seconds = 0;
  int64_t steps = 0;
  bool finished() const { return status == "completed" || status == "max_steps"; }
};

RunRecord read_run(const stdfs::path& run_dir) {
  RunRecord r;
  std::ifstream in(run_dir / "summary.json");
  if (!in) return r;
  try {
    const auto j = nlohmann::json::parse(in);
    r.status = j.value("status", "");
    r.seconds = j.value("train_seconds", 0.0);
    r.steps = j.value("steps", int64_t{0});
    if (j.contains("val")) {
      r.top1 = j["val"].value("top1", NAN);
      r.top5 = j["val"].value("top5", NAN);
    }
    r.best_top1 = j.value("best_val_top1", NAN);
  } catch (const std::exception& e) {
    WISESR_THROW("run summary '", (run_dir / "summary.json").string(), "' is not valid JSON (", e.what(),
                 "): remove that run directory to train the row again");
  }
  return r;
}

struct MeanStd {
  int n = 0;
  double mean = NAN, std = NAN;
};

MeanStd mean_std(const std::vector<double>& xs) {
  MeanStd m;
  for (double x : xs)
    if (!std::isnan(x)) ++m.n;
  if (m.n == 0) return m;
  double sum = 0;
  for (double x : xs)
    if (!std::isnan(x)) sum += x;
  m.mean = sum / m.n;
  if (m.n > 1) {
    double ss = 0;
    for (double x : xs)
      if (!std::isnan(x)) ss += (x - m.mean) * (x - m.mean);
    m.std = std::sqrt(ss / (m.n - 1));  // sample standard deviation
  }
  return m;
}

std::string fmt(double v, const char* format = "%.4f") {
  if (std::isnan(v)) return "";
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

std::string fmt_md(const MeanStd& m) {
  if (m.n == 0) return "";
  std::string s = fmt(m.mean);
  if (m.n > 1) s += " ± " + fmt(m.std) + " (n=" + std::to_string(m.n) + ")";
  return s;
}

// Per row: the records of its seeds.
struct RowResult {
  const SweepRow* row;
  std::vector<RunRecord> runs;
  MeanStd top1() const { return stat(&RunRecord::top1); }
  MeanStd top5() const { return stat(&RunRecord::top5); }
  MeanStd best_top1() const { return stat(&RunRecord::best_top1); }
  MeanStd stat(double RunRecord::*field) const {
    std::vector<double> xs;
    for (const auto& r : runs)
      if (r.finished()) xs.push_back(r.*field);
    return mean_std(xs);
  }
  int finished() const {
    return static_cast<int>(
        std::count_if(runs.begin(), runs.end(), [](const RunRecord& r) { return r.finished(); }));
  }
  double seconds() const {
    double s = 0;
    for (const auto& r : runs) s += r.seconds;
    return s;
  }
};

std::vector<RowResult> collect(const std::vector<SweepRow>& rows, const stdfs::path& dir, int seeds) {
  std::vector<RowResult> out;
  for (const auto& row : rows) {
    RowResult rr{&row, {}};
    for (int k = 0; k < seeds; ++k) rr.runs.push_back(read_run(dir / run_name(row, k, seeds)));
    out.push_back(std::move(rr));
  }
  return out;
}

std::string results_csv(const config::SweepConfig& cfg, const std::vector<RowResult>& results) {
  std::ostringstream os;
  os << "row,id,backbone,head,image_size,classes,params,paper_params,seeds,finished,top1_mean,top1_std,"
        "top5_mean,top5_std,best_top1_mean,paper_top1,paper_top5,epochs,train_seconds\n";
  for (const auto& r : results) {
    const SweepRow& row = *r.row;
    const MeanStd t1 = r.top1(), t5 = r.top5(), b1 = r.best_top1();
    os << row.number << "," << row.id << "," << row.backbone << "," << row.head << ","
       << row.cfg.data.image_size << "," << cfg.classes << "," << row.params << ","
       << (row.paper_params ? std::to_string(*row.paper_params) : "") << "," << cfg.seeds << ","
       << r.finished() << "," << fmt(t1.mean, "%.6f") << "," << fmt(t1.std, "%.6f") << ","
       << fmt(t5.mean, "%.6f") << "," << fmt(t5.std, "%.6f") << "," << fmt(b1.mean, "%.6f") << ","
       << (row.paper_top1 ? fmt(*row.paper_top1, "%.6f") : "") << ","
       << (row.paper_top5 ? fmt(*row.paper_top5, "%.6f") : "") << "," << row.cfg.train.epochs << ","
       << fmt(r.seconds(), "%.1f") << "\n";
  }
  return os.str();
}

// Wise-SrNet (head "wise") minus GAP (head "gap") per backbone, ours and the paper's.
void delta_table(std::ostringstream& os, const std::vector<RowResult>& results) {
  std::vector<std::string> backbones;
  for (const auto& r : results)
    if (std::find(backbones.begin(), backbones.end(), r.row->backbone) == backbones.end())
      backbones.push_back(r.row->backbone);
  std::ostringstream rows;
  for (const auto& b : backbones) {
    const RowResult* gap = nullptr;
    const RowResult* wise = nullptr;
    for (const auto& r : results) {
      if (r.row->backbone != b) continue;
      if (r.row->head == "gap" && !gap) gap = &r;
      if (r.row->head == "wise" && !wise) wise = &r;
    }
    if (!gap || !wise) continue;
    const MeanStd g = gap->top1(), w = wise->top1();
    std::string ours;
    if (g.n > 0 && w.n > 0) {
      ours = fmt(w.mean - g.mean, "%+.4f");
      // Independent runs: the standard error of a difference of means.
      if (g.n > 1 && w.n > 1)
        ours += " ± " + fmt(std::sqrt(g.std * g.std / g.n + w.std * w.std / w.n)) + " (s.e.)";
    }
    std::string paper;
    if (gap->row->paper_top1 && wise->row->paper_top1)
      paper = fmt(*wise->row->paper_top1 - *gap->row->paper_top1, "%+.4f");
    rows << "| " << b << " | " << fmt_md(g) << " | " << fmt_md(w) << " | " << ours << " | " << paper
         << " |\n";
  }
  if (rows.str().empty()) return;
  os << "\n## Wise-SrNet − GAP, top-1 (per backbone)\n\n"
     << "| backbone | GAP top-1 | Wise-SrNet top-1 | ours: Wise-SrNet − GAP | paper: Wise-SrNet − GAP |\n"
     << "|---|---|---|---|---|\n"
     << rows.str();
}

std::string results_md(const config::SweepConfig& cfg, const std::vector<RowResult>& results) {
  int finished = 0;
  for (const auto& r : results) finished += r.finished();
  std::ostringstream os;
  os << "# " << (cfg.title.empty() ? cfg.config : cfg.title) << "\n\n"
     << "`wisesr sweep --config " << cfg.config << "`: " << finished << " of " << results.size() * cfg.seeds
     << " runs finished (" << cfg.seeds << " seed" << (cfg.seeds > 1 ? "s" : "") << " per row), updated "
     << utc_timestamp() << ". Top-1/top-5: validation split after the last epoch"
     << (cfg.seeds > 1 ? ", mean ± sample standard deviation over the finished seeds" : "")
     << "; params: Keras-comparable count (`wisesr params`).";
  if (!cfg.paper.empty()) os << " Paper figures: " << cfg.paper << ".";
  os << "\n\n| # | backbone | head | image | params | paper params | top-1 | paper top-1 | top-5 | paper "
        "top-5 | "
        "best top-1 | epochs | train time (s) | runs done |\n"
     << "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : results) {
    const SweepRow& row = *r.row;
    os << "| " << row.number << " | " << row.backbone << " | " << row.head << " | " << row.cfg.data.image_size
       << " | " << group_thousands(row.params) << " | "
       << (row.paper_params ? group_thousands(*row.paper_params) : "n/a") << " | " << fmt_md(r.top1())
       << " | " << (row.paper_top1 ? fmt(*row.paper_top1) : "n/a") << " | " << fmt_md(r.top5()) << " | "
       << (row.paper_top5 ? fmt(*row.paper_top5) : "n/a") << " | " << fmt_md(r.best_top1()) << " | "
       << row.cfg.train.epochs << " | " << fmt(r.seconds(), "%.0f") << " | " << r.finished() << "/"
       << cfg.seeds << " |\n";
  }
  delta_table(os, results);
  return os.str();
}

void write_results(const config::SweepConfig& cfg, const std::vector<SweepRow>& rows,
                   const stdfs::path& dir) {
  const auto results = collect(rows, dir, cfg.seeds);
  fs::write_file_atomic(dir / "results.csv", results_csv(cfg, results));
  fs::write_file_atomic(dir / "results.md", results_md(cfg, results));
}

// Rank 0's answer, on every rank (the ranks must run the same rows to keep their collectives in step).
bool agreed(bool rank0_value, const comm::ProcessGroupInfo& info) {
  int v = rank0_value ? 1 : 0;
  if (info.world_size > 1) MPI_Bcast(&v, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return v != 0;
}

void check_dataset(const config::SweepConfig& cfg) {
  const auto manifest = data::Manifest::load(cfg.base.data.dir);
  WISESR_CHECK(static_cast<int>(manifest.classes.size()) == cfg.classes, "dataset '", cfg.base.data.dir,
               "' has ", manifest.classes.size(), " classes, but table '", cfg.config, "' is for ",
               cfg.classes, " ([sweep] classes)");
}

}  // namespace

SweepRow parse_sweep_row(const std::string& line, int number, const std::string& file) {
  SweepRow row;
  row.number = number;
  const std::string where = "config file '" + file + "': row " + std::to_string(number);
  std::istringstream in(line);
  std::vector<std::string> tokens;
  for (std::string t; in >> t;) tokens.push_back(t);
  WISESR_CHECK(tokens.size() >= 2 && tokens[0].find('=') == std::string::npos &&
                   tokens[1].find('=') == std::string::npos,
               where, ": expected 'row = BACKBONE HEAD [key=value ...]', got '", printable(line), "'");
  row.backbone = tokens[0];
  row.head = tokens[1];
  row.id = row.backbone + "-" + row.head;
  for (size_t i = 2; i < tokens.size(); ++i) {
    const auto eq = tokens[i].find('=');
    WISESR_CHECK(eq != std::string::npos && eq > 0, where, ": '", printable(tokens[i]), "' is not key=value");
    const std::string key = tokens[i].substr(0, eq), value = tokens[i].substr(eq + 1);
    if (key == "id") {
      WISESR_CHECK(
          !value.empty() && value.find_first_of("/\\ ") == std::string::npos && value != "." && value != "..",
          where, ": id='", printable(value), "' cannot name a run directory");
      row.id = value;
    } else if (key == "paper_params") {
      row.paper_params = parse_count(key, value, where);
    } else if (key == "paper_top1") {
      row.paper_top1 = parse_fraction(key, value, where);
    } else if (key == "paper_top5") {
      row.paper_top5 = parse_fraction(key, value, where);
    } else if (key.find('.') != std::string::npos) {
      WISESR_CHECK(key != "model.backbone" && key != "model.head", where, ": ", key,
                   " is the row's first or second word");
      row.options.emplace_back(key, value);
    } else {
      WISESR_THROW(where, ": unknown key '", printable(key),
                   "' (id, paper_params, paper_top1, paper_top5, or a training option section.key)");
    }
  }
  return row;
}

std::vector<SweepRow> resolve_sweep_rows(const config::SweepConfig& cfg) {
  std::vector<SweepRow> all;
  std::set<std::string> ids;
  for (size_t i = 0; i < cfg.row_lines.size(); ++i) {
    SweepRow row = parse_sweep_row(cfg.row_lines[i], static_cast<int>(i + 1), cfg.config);
    WISESR_CHECK(ids.insert(row.id).second, "config file '", cfg.config, "': row ", row.number, ": id '",
                 row.id, "' is taken by an earlier row (give one of them id=...)");
    all.push_back(std::move(row));
  }
  std::vector<SweepRow> rows = select_rows(std::move(all), cfg.rows, cfg.config);
  std::vector<std::string> mismatches;
  for (auto& row : rows) {
    auto options = row.options;
    options.emplace_back("model.backbone", row.backbone);
    options.emplace_back("model.head", row.head);
    try {
      row.cfg = config::sweep_row_config(cfg, options);
      row.cfg.model.validate();
    } catch (const Error& e) {
      WISESR_THROW("config file '", cfg.config, "': row ", row.number, " (", row.id, "): ", e.message());
    }
    row.params = models::summarize(row.cfg.model, cfg.classes, row.cfg.data.image_size, /*flops=*/false)
                     .keras_comparable;
    if (row.paper_params && *row.paper_params != row.params)
      mismatches.push_back("row " + std::to_string(row.number) + " (" + row.id +
                           "): " + group_thousands(row.params) + " vs the paper's " +
                           group_thousands(*row.paper_params));
  }
  WISESR_CHECK(mismatches.empty(), "config file '", cfg.config,
               "': parameter counts differ from the paper's: ", join(mismatches, "; "),
               " (see 'wisesr sweep --dry-run')");
  return rows;
}

std::string sweep_dir(const config::SweepConfig& cfg) {
  if (!cfg.out.empty()) return cfg.out;
  return (stdfs::path(cfg.base.train.out_dir) / ("sweep-" + stdfs::path(cfg.config).stem().string()))
      .string();
}

std::string format_dry_run(const config::SweepConfig& cfg, const std::vector<SweepRow>& rows) {
  std::ostringstream os;
  char line[256];
  std::snprintf(line, sizeof(line), "%-4s %-24s %-12s %-14s %10s %7s %12s %12s %s\n", "row", "run",
                "backbone", "head", "image_size", "classes", "params", "paper_params", "match");
  os << (cfg.title.empty() ? cfg.config : cfg.title) << "\n" << line;
  for (const auto& row : rows) {
    for (int k = 0; k < cfg.seeds; ++k) {
      const std::string paper = row.paper_params ? std::to_string(*row.paper_params) : "-";
      const char* match = !row.paper_params ? "-" : *row.paper_params == row.params ? "yes" : "NO";
      std::snprintf(line, sizeof(line), "%-4d %-24s %-12s %-14s %10d %7d %12lld %12s %s\n", row.number,
                    run_name(row, k, cfg.seeds).c_str(), row.backbone.c_str(), row.head.c_str(),
                    row.cfg.data.image_size, cfg.classes, static_cast<long long>(row.params), paper.c_str(),
                    match);
      os << line;
    }
  }
  os << rows.size() * cfg.seeds << " run(s); output: " << sweep_dir(cfg) << "\n";
  return os.str();
}

SweepResult run_sweep(const config::SweepConfig& cfg, const comm::ProcessGroupInfo& info) {
  if (!cfg.dry_run) {
    WISESR_CHECK(!cfg.base.data.dir.empty(),
                 "--data.dir is required (the table's dataset, written by 'wisesr prep')");
    check_dataset(cfg);  // first: a dataset with other classes also changes every parameter count
  }
  const std::vector<SweepRow> rows = resolve_sweep_rows(cfg);
  SweepResult result;
  result.runs = static_cast<int>(rows.size()) * cfg.seeds;
  if (cfg.dry_run) {
    if (info.rank == 0) std::fputs(format_dry_run(cfg, rows).c_str(), stdout);
    return result;
  }
  for (const auto& row : rows) row.cfg.validate();
  const stdfs::path dir = sweep_dir(cfg);
  if (info.rank == 0) {
    stdfs::create_directories(dir);
    write_results(cfg, rows, dir);
  }
  for (const auto& row : rows) {
    for (int k = 0; k < cfg.seeds; ++k) {
      const std::string name = run_name(row, k, cfg.seeds);
      if (agreed(info.rank == 0 && read_run(dir / name).finished(), info)) {
        ++result.done;
        LOG_RANK0("sweep: " << name << " is finished (" << (dir / name).string()
                            << "/summary.json), skipped");
        continue;
      }
      config::Config run = row.cfg;
      run.train.out_dir = dir.string();
      run.train.run_name = name;
      run.train.resume = "auto";
      run.train.seed = row.cfg.train.seed + static_cast<uint64_t>(k);
      LOG_RANK0("sweep: run " << result.done + 1 << "/" << result.runs << ": " << name << " (" << row.backbone
                              << " + " << row.head << ", seed " << run.train.seed << ")");
      const TrainResult r = run_train(run, info);
      if (info.rank == 0) write_results(cfg, rows, dir);
      if (r.preempted) {
        result.preempted = true;
        LOG_RANK0("sweep: stopped in " << name << "; the same command resumes it");
        return result;
      }
      ++result.done;
    }
  }
  LOG_RANK0("sweep: " << result.done << "/" << result.runs
                      << " runs finished; results: " << (dir / "results.md").string());
  return result;
}

}  // namespace wisesr::train
