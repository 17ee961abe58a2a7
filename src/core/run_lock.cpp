#include "core/run_lock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>

#include "core/clock.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"

namespace wisesr {
namespace {

namespace stdfs = std::filesystem;

using Fields = std::map<std::string, std::string>;

// Field `index` (1-based, as proc(5) numbers them; 3 and up) of /proc/<pid>/stat, or "" if unreadable.
std::string proc_stat_field(long pid, int index) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');  // the command name may contain spaces and parentheses
  if (close == std::string::npos || close + 2 > text.size()) return "";
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  for (int i = 3; i <= index && rest >> field; ++i) {
    if (i == index) return field;
  }
  return "";
}

// Field 22: the process's start time in clock ticks since boot; "" if unknown.
std::string process_start(long pid) { return proc_stat_field(pid, 22); }

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

Fields parse_fields(const std::string& text) {
  Fields f;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) f[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return f;
}

std::string field(const Fields& f, const std::string& key) {
  auto it = f.find(key);
  return it == f.end() ? "" : it->second;
}

// A process that has exited but not been reaped (a zombie: state Z, or X while it is being reaped) still
// answers kill(pid, 0); it holds nothing. Ranks orphaned by a killed mpirun are reaped by whatever init the
// machine has, sometimes seconds later (seen in containers whose PID 1 is not an init), so a zombie holder
// counts as gone.
bool pid_alive(long pid) {
  if (pid <= 0 || (kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM)) return false;
  const std::string state = proc_stat_field(pid, 3);
  return state != "Z" && state != "X";
}

double age_seconds(const stdfs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return std::difftime(std::time(nullptr), st.st_mtime);
}

std::string describe(const Fields& f, double heartbeat_age) {
  std::ostringstream os;
  os << "host " << field(f, "host") << ", pid " << field(f, "pid") << ", started " << field(f, "started");
  if (!field(f, "slurm_job").empty())
    os << ", Slurm job " << field(f, "slurm_job") << " (restart " << field(f, "slurm_restart") << ")";
  os << ", heartbeat " << static_cast<long long>(heartbeat_age) << " s ago";
  return os.str();
}

// Why the lock described by f is stale, or "" if its holder may be alive.
std::string stale_reason(const Fields& f, double heartbeat_age, double stale_after_s) {
  const long pid = std::atol(field(f, "pid").c_str());
  if (field(f, "host") == fs::host_name()) {
    if (!pid_alive(pid)) return "its process is gone";
    const std::string start = field(f, "pid_start");
    if (!start.empty() && process_start(pid) != start) return "its pid now belongs to another process";
  }
  const std::string job = env_or_empty("SLURM_JOB_ID");
  if (!job.empty() && field(f, "slurm_job") == job &&
      std::atol(field(f, "slurm_restart").c_str()) < std::atol(env_or_empty("SLURM_RESTART_COUNT").c_str()))
    return "it belongs to an earlier run of this Slurm job";
  if (stale_after_s > 0 && heartbeat_age > stale_after_s) return "its heartbeat stopped";
  return "";
}

std::string random_token() {
  std::random_device rd;
  std::ostringstream os;
  os << std::hex << rd() << rd();
  return os.str();
}

}  // namespace

RunLock::RunLock(const stdfs::path& dir, double stale_after_s, double heartbeat_s)
    : path_(dir / kFileName), token_(random_token()) {
  std::ostringstream content;
  content << "host=" << fs::host_name() << "\npid=" << getpid() << "\npid_start=" << process_start(getpid())
          << "\nstarted=" << utc_timestamp() << "\nslurm_job=" << env_or_empty("SLURM_JOB_ID")
          << "\nslurm_restart=" << env_or_empty("SLURM_RESTART_COUNT") << "\ntoken=" << token_ << "\n";
  const auto tmp = fs::temp_path_for(path_);
  // The temporary is private until link() publishes it: written in place, errors naming the lock itself.
  try {
    fs::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    WISESR_CHECK(fd.get() >= 0, "cannot create the run lock '", path_.string(),
                 "': ", fs::describe_write_error(errno));
    const std::string text = content.str();
    fs::write_all(fd.get(), text.data(), text.size(), path_);
    WISESR_CHECK(::fsync(fd.get()) == 0, "cannot write '", path_.string(),
                 "': ", fs::describe_write_error(errno));
  } catch (...) {
    std::error_code ec;
    stdfs::remove(tmp, ec);
    throw;
  }
  for (int attempt = 0;; ++attempt) {
    if (::link(tmp.c_str(), path_.c_str()) == 0) break;
    const int err = errno;
    if (err != EEXIST) {
      std::error_code ec;
      stdfs::remove(tmp, ec);
      WISESR_THROW("cannot create the run lock '", path_.string(), "': ", fs::describe_write_error(err));
    }
    std::string text;
    try {
      text = fs::read_file(path_);
    } catch (const Error&) {
      continue;  // removed meanwhile: try again
    }
    const Fields holder = parse_fields(text);
    const double age = age_seconds(path_);
    const std::string why = stale_reason(holder, age, stale_after_s);
    if (why.empty() || attempt >= 5) {
      std::error_code ec;
      stdfs::remove(tmp, ec);
      WISESR_THROW("run directory '", dir.string(), "' is in use by another job (", describe(holder, age),
                   "); wait for it to end, or choose another --train.run_name (a lock whose holder is gone "
                   "is taken over: same host and pid gone, or no heartbeat for ",
                   static_cast<long long>(stale_after_s), " s, --train.lock_stale_s)");
    }
    // One taker wins the rename; the others find the new lock (or none) on the next attempt.
    const auto aside = dir / (std::string(kFileName) + ".stale-" + std::to_string(getpid()));
    if (::rename(path_.c_str(), aside.c_str()) == 0) {
      took_over_from_ = describe(holder, age) + ": " + why;
      LOG_WARN("taking over the run lock of '" << dir.string() << "' (" << took_over_from_ << ")");
      std::error_code ec;
      stdfs::remove(aside, ec);
    }
  }
  std::error_code ec;
  stdfs::remove(tmp, ec);
  const double every = heartbeat_s > 0 ? heartbeat_s : std::min(30.0, std::max(1.0, stale_after_s / 4));
  heartbeat_ = std::thread([this, every] { heartbeat_loop(every); });
}

RunLock::~RunLock() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
  try {
    if (field(parse_fields(fs::read_file(path_)), "token") == token_) ::unlink(path_.c_str());
  } catch (...) {
    // gone or unreadable: nothing of ours to remove
  }
}

void RunLock::heartbeat_loop(double every_s) {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto period = std::chrono::duration<double>(every_s);
  while (!cv_.wait_for(lock, period, [this] { return stop_; })) {
    ::utimensat(AT_FDCWD, path_.c_str(), nullptr, 0);  // mtime = now; a failure shows as a stale lock
  }
}

std::string RunLock::describe_holder(const stdfs::path& lock_file) {
  std::error_code ec;
  if (!stdfs::exists(lock_file, ec)) return "";
  try {
    return describe(parse_fields(fs::read_file(lock_file)), age_seconds(lock_file));
  } catch (const Error&) {
    return "";
  }
}

RemovedTemporaries remove_stale_temporaries(const stdfs::path& dir) {
  RemovedTemporaries removed;
  auto sweep = [&](const stdfs::path& d) {
    std::error_code ec;
    for (const auto& e : stdfs::directory_iterator(d, ec)) {
      const std::string name = e.path().filename().string();
      const auto mark = name.rfind(".tmp-");
      if (name.empty() || name[0] != '.' || mark == std::string::npos) continue;
      const std::string pid_text = name.substr(mark + 5);
      if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
      const long pid = std::atol(pid_text.c_str());
      if (pid == getpid() || pid_alive(pid)) continue;
      std::error_code size_ec, rm_ec;
      const auto size = e.is_regular_file(size_ec) ? e.file_size(size_ec) : 0;
      if (stdfs::remove(e.path(), rm_ec)) {
        ++removed.files;
        removed.bytes += size_ec ? 0 : size;
      }
    }
  };
  sweep(dir);
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(dir, ec))
    if (e.is_directory(ec)) sweep(e.path());
  return removed;
}

}  // namespace wisesr
