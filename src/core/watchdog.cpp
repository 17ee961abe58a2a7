#include "core/watchdog.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "core/fs.h"

namespace wisesr {
namespace {

namespace stdfs = std::filesystem;

constexpr double kPublishEvery_s = 1.0;
constexpr double kFileStale_s = 5.0;  // a heartbeat file this old: its rank no longer runs its watchdog

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double wall_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

stdfs::path heartbeat_file(const stdfs::path& dir, int rank) {
  return dir / ("rank-" + std::to_string(rank));
}

struct Heartbeat {
  int rank = -1;
  std::string host, phase;
  long pid = 0;
  long long step = -1;
  double last_beat = 0, written = 0;
};

bool read_heartbeat(const stdfs::path& file, Heartbeat& hb) {
  std::ifstream in(file);
  if (!in) return false;
  std::map<std::string, std::string> f;
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) f[line.substr(0, eq)] = line.substr(eq + 1);
  }
  if (!f.count("written")) return false;
  hb.host = f["host"];
  hb.phase = f["phase"];
  hb.pid = std::atol(f["pid"].c_str());
  hb.step = std::atoll(f["step"].c_str());
  hb.last_beat = std::atof(f["last_beat"].c_str());
  hb.written = std::atof(f["written"].c_str());
  return true;
}

std::string who(const Heartbeat& hb) {
  std::ostringstream os;
  os << "rank " << hb.rank << " (pid " << hb.pid << ", host " << hb.host << ")";
  return os.str();
}

}  // namespace

Watchdog::Watchdog(const Options& options, int rank, int world_size, std::function<std::string()> probe)
    : options_(options),
      rank_(rank),
      world_size_(world_size),
      probe_(std::move(probe)),
      last_beat_ns_(now_ns()) {
  if (!options_.heartbeat_dir.empty()) {
    std::error_code ec;
    stdfs::create_directories(options_.heartbeat_dir, ec);
    if (ec) options_.heartbeat_dir.clear();  // heartbeats are a diagnosis aid, never a reason to fail
  }
  if (options_.timeout_s > 0 || probe_ || !options_.heartbeat_dir.empty())
    thread_ = std::thread([this] { run(); });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (!options_.heartbeat_dir.empty()) {
    std::error_code ec;
    stdfs::remove(heartbeat_file(options_.heartbeat_dir, rank_), ec);
  }
}

void Watchdog::beat(const char* phase, int64_t step) {
  phase_.store(phase, std::memory_order_relaxed);
  if (step >= 0 && step != step_.exchange(step, std::memory_order_relaxed))
    steps_beaten_.fetch_add(1, std::memory_order_relaxed);
  last_beat_ns_.store(now_ns(), std::memory_order_relaxed);
}

double Watchdog::limit() const {
  if (steps_beaten_.load(std::memory_order_relaxed) < options_.warm_up_steps &&
      options_.startup_timeout_s > options_.timeout_s)
    return options_.startup_timeout_s;
  return options_.timeout_s;
}

void Watchdog::publish() const {
  if (options_.heartbeat_dir.empty()) return;
  const double idle = static_cast<double>(now_ns() - last_beat_ns_.load(std::memory_order_relaxed)) * 1e-9;
  const double now = wall_s();
  std::ostringstream os;
  os.precision(17);
  os << "host=" << fs::host_name() << "\npid=" << getpid()
     << "\nphase=" << phase_.load(std::memory_order_relaxed)
     << "\nstep=" << step_.load(std::memory_order_relaxed) << "\nlast_beat=" << now - idle
     << "\nwritten=" << now << "\n";
  // No fsync: a heartbeat only has to be readable while its writer lives; rename keeps it whole.
  const auto file = heartbeat_file(options_.heartbeat_dir, rank_);
  std::string tmp_name(".");  // appended, not "." + ...: GCC 12's -Wrestrict false positive (PR 105329)
  tmp_name.append(file.filename().string()).append(".tmp-").append(std::to_string(getpid()));
  const auto tmp = options_.heartbeat_dir / tmp_name;
  std::error_code ec;
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << os.str();
    out.close();
    if (!out) {  // best effort (a full disk): the trainer's own writes report it; leave nothing behind
      stdfs::remove(tmp, ec);
      return;
    }
  }
  stdfs::rename(tmp, file, ec);
}

std::string Watchdog::describe_timeout(double idle_s) const {
  std::ostringstream os;
  const long long step = step_.load(std::memory_order_relaxed);
  os << "no progress for " << static_cast<long long>(idle_s) << " s (--train.timeout_s"
     << (limit() > options_.timeout_s ? ", start-up allowance --train.startup_timeout_s" : "") << ") during "
     << phase_.load(std::memory_order_relaxed);
  if (step >= 0) os << " after step " << step;
  // See Note [Watchdog heartbeats]: who stopped first?
  std::vector<Heartbeat> gone, others;
  int missing = 0;
  const double now = wall_s();
  for (int r = 0; r < world_size_ && !options_.heartbeat_dir.empty(); ++r) {
    if (r == rank_) continue;
    Heartbeat hb;
    hb.rank = r;
    if (!read_heartbeat(heartbeat_file(options_.heartbeat_dir, r), hb)) {
      ++missing;
      continue;
    }
    (now - hb.written > kFileStale_s ? gone : others).push_back(hb);
  }
  auto oldest = [](const std::vector<Heartbeat>& v, double Heartbeat::*key) {
    const Heartbeat* best = &v.front();
    for (const auto& hb : v)
      if (hb.*key < best->*key) best = &hb;
    return *best;
  };
  if (!gone.empty()) {
    const Heartbeat hb = oldest(gone, &Heartbeat::written);
    os << "; " << who(hb) << " stopped reporting " << static_cast<long long>(now - hb.written)
       << " s ago (last beat at step " << hb.step << ", " << hb.phase
       << "): it died, was stopped or lost its node";
    if (gone.size() > 1) os << " (" << gone.size() - 1 << " more rank(s) silent too)";
  } else if (!others.empty()) {
    const Heartbeat hb = oldest(others, &Heartbeat::last_beat);
    const double my_beat = now - idle_s;
    if (hb.last_beat < my_beat - 1.0) {
      os << "; " << who(hb) << " last progressed " << static_cast<long long>(now - hb.last_beat)
         << " s ago (step " << hb.step << ", " << hb.phase << ") and has not since: it hung";
    } else {
      os << "; every other rank is waiting too (the one that stopped first is this one, rank " << rank_
         << "): a collective, the network or this rank's own work is stuck";
    }
  } else {
    os << ": a peer rank died, hung or lost its network";
    if (missing > 0 && !options_.heartbeat_dir.empty())
      os << " (no heartbeats of the other ranks in " << options_.heartbeat_dir.string()
         << ": is the run directory on a file system all nodes share?)";
  }
  os << "; ending the job";
  return os.str();
}

void Watchdog::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  int64_t last_publish = 0;
  while (!cv_.wait_for(lock, options_.poll, [this] { return stop_; })) {
    const int64_t now = now_ns();
    if (static_cast<double>(now - last_publish) * 1e-9 >= kPublishEvery_s) {
      publish();
      last_publish = now;
    }
    std::string problem;
    if (probe_) problem = probe_();
    const double idle = static_cast<double>(now - last_beat_ns_.load(std::memory_order_relaxed)) * 1e-9;
    const double limit_s = limit();
    if (problem.empty() && limit_s > 0 && idle > limit_s) problem = describe_timeout(idle);
    if (!problem.empty()) {
      std::fprintf(stderr, "[rank %d] wisesr: error: %s\n", rank_, problem.c_str());
      std::fflush(stderr);
      // Not exit(): static destructors and atexit handlers could block on the very thing that hangs.
      std::_Exit(3);
    }
  }
}

}  // namespace wisesr
