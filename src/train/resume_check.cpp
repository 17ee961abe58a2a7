#include "train/resume_check.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <sstream>
#include <string_view>

#include "core/strings.h"

namespace wisesr::train {
namespace {

// Note [What a resume may change]: how the run is carried out, not what it trains.
constexpr std::string_view kMayChange[] = {
    // how long, and what is recorded
    "train.epochs", "train.max_steps", "train.out_dir", "train.run_name", "train.log_every",
    "train.eval_each_epoch", "train.progress", "train.status_file", "train.tensorboard",
    // resuming and checkpointing
    "train.resume", "train.resume_force", "train.keep_checkpoints", "train.checkpoint_every",
    // failure handling
    "train.timeout_s", "train.startup_timeout_s", "train.preempt_exit_code", "train.lock_stale_s",
    "train.fault",
    // where and how the steps run (same numbers up to summation order)
    "train.device", "train.threads", "train.channels_last", "train.cuda_graph", "train.backend",
    "train.bucket_mb", "train.first_bucket_mb", "train.check_collectives",
    // where the data comes from and how it is read (the classes are checked separately)
    "data.dir", "data.workers", "data.prefetch", "data.decode", "data.verify", "data.max_bad_records"};

int64_t to_int(const std::map<std::string, std::string>& m, const std::string& key, int64_t fallback) {
  auto it = m.find(key);
  if (it == m.end()) return fallback;
  try {
    return std::stoll(it->second);
  } catch (...) {
    return fallback;
  }
}

}  // namespace

std::string ConfigChange::describe() const {
  auto shown = [](const std::string& v) { return v.empty() ? std::string("''") : v; };
  return key + ": " + shown(before) + " -> " + shown(after);
}

bool resume_may_change(const std::string& key) {
  return std::find(std::begin(kMayChange), std::end(kMayChange), key) != std::end(kMayChange);
}

std::vector<std::pair<std::string, std::string>> ini_values(const std::string& ini) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(ini);
  std::string section;
  for (std::string line; std::getline(in, line);) {
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[' && t.back() == ']') {
      section = trim(std::string_view(t).substr(1, t.size() - 2));
      continue;
    }
    const auto eq = t.find('=');
    if (eq == std::string::npos) continue;
    out.emplace_back(section + "." + trim(std::string_view(t).substr(0, eq)),
                     trim(std::string_view(t).substr(eq + 1)));
  }
  return out;
}

ResumeCheck check_resume(const std::string& checkpoint_ini, const std::string& now_ini, int64_t world_before,
                         int64_t world_now) {
  const auto before_list = ini_values(checkpoint_ini);
  const std::map<std::string, std::string> before(before_list.begin(), before_list.end());
  const auto now_list = ini_values(now_ini);
  const std::map<std::string, std::string> now(now_list.begin(), now_list.end());
  ResumeCheck r;
  // The global batch: per-rank batch and accumulation may trade against each other and the world size.
  const int64_t batch_before = to_int(before, "train.batch_size", 0) * to_int(before, "train.accum_steps", 1);
  const int64_t batch_now = to_int(now, "train.batch_size", 0) * to_int(now, "train.accum_steps", 1);
  const bool same_global = batch_before * world_before == batch_now * world_now;
  const bool world_only = world_before != world_now && batch_before == batch_now;
  for (const auto& [key, after] : now_list) {
    auto it = before.find(key);
    if (it == before.end() || it->second == after) continue;
    ConfigChange c{key, it->second, after};
    const bool batch_key = key == "train.batch_size" || key == "train.accum_steps";
    if (resume_may_change(key) || (batch_key && same_global)) {
      r.allowed.push_back(std::move(c));
    } else {
      r.refused.push_back(std::move(c));
    }
  }
  if (world_before != world_now) {
    const std::string b = std::to_string(batch_before * world_before),
                      n = std::to_string(batch_now * world_now);
    ConfigChange c{"world size (global batch)", std::to_string(world_before) + " (" + b + ")",
                   std::to_string(world_now) + " (" + n + ")"};
    (same_global || world_only ? r.allowed : r.refused).push_back(std::move(c));
  }
  return r;
}

}  // namespace wisesr::train
