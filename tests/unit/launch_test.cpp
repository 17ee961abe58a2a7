// What a job needs from its launcher's side: stop signals (core/stop_signal.h) and the run directory's
// lock (core/run_lock.h).
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "core/error.h"
#include "core/fs.h"
#include "core/run_lock.h"
#include "core/stop_signal.h"
#include "core/watchdog.h"
#include "test_data.h"

namespace wisesr {
namespace {

using namespace std::chrono_literals;

TEST(StopSignal, EveryStopSignalIsRecorded) {
  for (int sig : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2}) {
    StopSignalScope::reset();
    StopSignalScope scope;
    std::raise(sig);
    EXPECT_EQ(StopSignalScope::received(), sig) << StopSignalScope::describe(sig);
  }
  StopSignalScope::reset();
}

TEST(StopSignal, NestedScopesKeepTheOuterHandlers) {
  StopSignalScope::reset();
  StopSignalScope outer;
  { StopSignalScope inner; }
  std::raise(SIGUSR2);  // still recorded, not fatal: the inner scope did not restore the defaults
  EXPECT_EQ(StopSignalScope::received(), SIGUSR2);
  StopSignalScope::reset();
}

// mpirun's kill path starts with SIGCONT to a running rank: a stop request (Note [Which signals stop the
// run]).
TEST(StopSignal, SigcontToARunningProcessIsAStopRequest) {
  StopSignalScope::reset();
  StopSignalScope scope;
  std::this_thread::sleep_for(600ms);  // the ticker has run
  std::raise(SIGCONT);
  EXPECT_EQ(StopSignalScope::received(), SIGCONT);
  StopSignalScope::reset();
}

// A SIGCONT that resumes the process after a stop (job control, scontrol suspend/resume) is not a request.
// Death tests run in a fresh process ("threadsafe" style); a helper child continues the stopped one.
void stop_and_get_continued(int stop_signal, double after_s) {
  const pid_t self = getpid();
  const pid_t helper = fork();
  if (helper == 0) {
    std::this_thread::sleep_for(std::chrono::duration<double>(after_s));
    kill(self, SIGCONT);
    std::_Exit(0);
  }
  std::raise(stop_signal);  // stops here until the helper's SIGCONT
  waitpid(helper, nullptr, 0);
}

TEST(StopSignalDeathTest, ResumingFromAStopIsNotAStopRequest) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        StopSignalScope scope;
        std::this_thread::sleep_for(600ms);
        stop_and_get_continued(SIGSTOP, 2.0);  // a stop the process cannot see: told by the ticker's gap
        std::this_thread::sleep_for(300ms);
        kill(getpid(), SIGCONT);  // the launcher's forwarded copy of the same resume
        std::_Exit(StopSignalScope::received() == 0 ? 0 : 10 + StopSignalScope::received());
      },
      ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(
      {
        StopSignalScope scope;
        std::this_thread::sleep_for(600ms);
        stop_and_get_continued(SIGTSTP, 0.2);  // Ctrl-Z and a quick fg: marked by the SIGTSTP handler
        std::_Exit(StopSignalScope::received() == 0 ? 0 : 10 + StopSignalScope::received());
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(StopSignalDeathTest, ARankWhoseLauncherDiedEndsItself) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        // This process adopts orphans (as init would), forks a "launcher" that forks a "rank" and dies.
        prctl(PR_SET_CHILD_SUBREAPER, 1);
        const auto t0 = std::chrono::steady_clock::now();
        const pid_t launcher = fork();
        if (launcher == 0) {
          if (fork() == 0) {
            StopSignalScope::Options o;
            o.watch_launcher = true;
            StopSignalScope scope(o);
            std::this_thread::sleep_for(10s);
            std::_Exit(1);  // not reached: the scope ends the rank when the launcher is gone
          }
          std::this_thread::sleep_for(300ms);
          std::_Exit(0);
        }
        waitpid(launcher, nullptr, 0);
        int status = 0;
        const pid_t rank = wait(&status);  // the orphan, re-parented to us
        const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const bool ok = rank > 0 && WIFEXITED(status) &&
                        WEXITSTATUS(status) == StopSignalScope::kLauncherGoneExit && took < 2.0;
        std::_Exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "the launcher \\(pid [0-9]+\\) is gone");
}

// --- Watchdog
// ---------------------------------------------------------------------------------------------------

void write_heartbeat(const std::filesystem::path& dir, int rank, long pid, double written_ago,
                     double beat_ago, long step, const std::string& phase) {
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / ("rank-" + std::to_string(rank)));
  out.precision(17);
  out << "host=node" << rank << "\npid=" << pid << "\nphase=" << phase << "\nstep=" << step
      << "\nlast_beat=" << now - beat_ago << "\nwritten=" << now - written_ago << "\n";
}

Watchdog::Options heartbeat_options(const std::filesystem::path& dir) {
  Watchdog::Options o;
  o.timeout_s = 0;  // no thread-driven exit: describe_timeout() is called by hand
  o.heartbeat_dir = dir;
  return o;
}

TEST(Watchdog, NamesTheRankWhoseHeartbeatStoppedFirst) {
  testing::TempDir dir;
  write_heartbeat(dir.path(), 1, 4242, 61, 62, 57, "training step");   // silent for 61 s: stopped or dead
  write_heartbeat(dir.path(), 2, 4343, 0.5, 60, 58, "training step");  // alive, waiting in the collective
  write_heartbeat(dir.path(), 3, 4444, 0.5, 60, 58, "training step");
  Watchdog dog(heartbeat_options(dir.path()), 0, 4);
  dog.beat("training step", 58);
  const std::string m = dog.describe_timeout(60);
  EXPECT_NE(m.find("rank 1 (pid 4242, host node1) stopped reporting 61 s ago (last beat at step 57"),
            std::string::npos)
      << m;
}

TEST(Watchdog, NamesTheAliveRankThatStoppedProgressing) {
  testing::TempDir dir;
  write_heartbeat(dir.path(), 1, 4242, 0.5, 90, 41, "training step");  // alive, stuck for 90 s
  write_heartbeat(dir.path(), 2, 4343, 0.5, 60, 42, "training step");
  Watchdog dog(heartbeat_options(dir.path()), 0, 3);
  const std::string m = dog.describe_timeout(60);
  EXPECT_NE(m.find("rank 1 (pid 4242, host node1) last progressed 90 s ago (step 41"), std::string::npos)
      << m;
  EXPECT_NE(m.find("it hung"), std::string::npos) << m;
}

TEST(Watchdog, WithoutHeartbeatsSaysWhereTheyShouldBe) {
  testing::TempDir dir;
  Watchdog dog(heartbeat_options(dir.path() / "hb"), 0, 2);
  const std::string m = dog.describe_timeout(61);
  EXPECT_NE(m.find("no progress for 61 s"), std::string::npos) << m;
  EXPECT_NE(m.find("is the run directory on a file system all nodes share?"), std::string::npos) << m;
}

TEST(Watchdog, PublishesItsOwnHeartbeatAndRemovesItAtTheEnd) {
  testing::TempDir dir;
  const auto file = dir.path() / "rank-3";
  {
    Watchdog dog(heartbeat_options(dir.path()), 3, 4);
    dog.beat("evaluation", 17);
    std::this_thread::sleep_for(1700ms);
    const std::string text = fs::read_file(file);
    EXPECT_NE(text.find("phase=evaluation\nstep=17\n"), std::string::npos) << text;
    EXPECT_NE(text.find("pid=" + std::to_string(getpid())), std::string::npos) << text;
  }
  EXPECT_FALSE(std::filesystem::exists(file));
}

// Note [Watchdog start-up]: a 1 s limit does not end a run whose first steps are slow, but does after them.
TEST(WatchdogDeathTest, ShortTimeoutsApplyOnlyAfterTheFirstSteps) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        Watchdog::Options o;
        o.timeout_s = 1;
        o.startup_timeout_s = 30;
        o.poll = 100ms;
        Watchdog dog(o, 0, 1);
        std::this_thread::sleep_for(2500ms);  // a slow first step: within the start-up allowance
        for (int64_t step = 1; step <= 3; ++step) dog.beat("training step", step);
        std::this_thread::sleep_for(5s);  // now 1 s without progress ends the process (status 3)
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(3),
      "no progress for [0-9]+ s \\(--train.timeout_s\\) during training step after step 3");
}

// --- RunLock
// ---------------------------------------------------------------------------------------------------

std::string slurp(const std::filesystem::path& p) { return fs::read_file(p); }

void write_lock(const std::filesystem::path& dir, const std::string& host, long pid,
                const std::string& job = "", const std::string& restart = "") {
  std::ofstream(dir / RunLock::kFileName)
      << "host=" << host << "\npid=" << pid << "\npid_start=\nstarted=then\n"
      << "slurm_job=" << job << "\nslurm_restart=" << restart << "\ntoken=t\n";
}

std::string this_host() {
  char buf[256] = {};
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}

TEST(RunLock, ASecondHolderIsRefusedNamingTheFirst) {
  testing::TempDir dir;
  RunLock first(dir.path(), 300);
  try {
    RunLock second(dir.path(), 300);
    FAIL() << "two locks on one run directory";
  } catch (const Error& e) {
    const std::string m = e.message();
    EXPECT_NE(m.find("in use by another job"), std::string::npos) << m;
    EXPECT_NE(m.find("pid " + std::to_string(getpid())), std::string::npos) << m;
    EXPECT_NE(m.find("host " + this_host()), std::string::npos) << m;
  }
  EXPECT_NE(slurp(first.path()).find("pid=" + std::to_string(getpid())), std::string::npos);
}

TEST(RunLock, IsRemovedAtTheEndOfItsScopeAndCanBeTakenAgain) {
  testing::TempDir dir;
  { RunLock lock(dir.path(), 300); }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / RunLock::kFileName));
  RunLock again(dir.path(), 300);
  EXPECT_TRUE(again.took_over_from().empty());
}

TEST(RunLock, ADeadHolderOnThisHostIsTakenOver) {
  testing::TempDir dir;
  write_lock(dir.path(), this_host(), 999999);
  RunLock lock(dir.path(), 300);
  EXPECT_NE(lock.took_over_from().find("its process is gone"), std::string::npos) << lock.took_over_from();
  EXPECT_NE(slurp(lock.path()).find("pid=" + std::to_string(getpid())), std::string::npos);
}

TEST(RunLock, AnExitedButUnreapedHolderIsTakenOver) {
  // Ranks orphaned by a killed mpirun can stay zombies for seconds (until the machine's init reaps them);
  // kill(pid, 0) still succeeds on them, but they hold nothing. The CI fault run met this: the next attempt
  // was refused by the lock of a rank that had already been SIGKILLed.
  testing::TempDir dir;
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) std::_Exit(0);
  std::string state;
  for (int i = 0; i < 200 && state != "Z"; ++i) {  // wait (up to 2 s) for the child to become a zombie
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::ifstream in("/proc/" + std::to_string(child) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    state = close == std::string::npos ? "" : text.substr(close + 2, 1);
  }
  ASSERT_EQ(state, "Z") << "the child did not become a zombie";
  ASSERT_EQ(kill(child, 0), 0) << "a zombie answers kill(pid, 0)";
  write_lock(dir.path(), this_host(), child);
  {
    RunLock lock(dir.path(), 300);
    EXPECT_NE(lock.took_over_from().find("its process is gone"), std::string::npos) << lock.took_over_from();
  }
  waitpid(child, nullptr, 0);
}

TEST(RunLock, AnotherHostsLockIsTakenOverOnlyWithoutHeartbeat) {
  testing::TempDir dir;
  write_lock(dir.path(), "some-other-node", 1);
  EXPECT_THROW(RunLock(dir.path(), 300), Error);  // fresh heartbeat: may be alive
  const auto old = std::filesystem::file_time_type::clock::now() - std::chrono::hours(1);
  std::filesystem::last_write_time(dir.path() / RunLock::kFileName, old);
  RunLock lock(dir.path(), 300);
  EXPECT_NE(lock.took_over_from().find("heartbeat stopped"), std::string::npos) << lock.took_over_from();
}

TEST(RunLock, AnEarlierRunOfTheSameSlurmJobIsTakenOver) {
  testing::TempDir dir;
  write_lock(dir.path(), "some-other-node", 1, "4242", "0");
  setenv("SLURM_JOB_ID", "4242", 1);
  setenv("SLURM_RESTART_COUNT", "1", 1);
  try {
    RunLock lock(dir.path(), 300);
    EXPECT_NE(lock.took_over_from().find("earlier run of this Slurm job"), std::string::npos);
  } catch (...) {
    unsetenv("SLURM_JOB_ID");
    unsetenv("SLURM_RESTART_COUNT");
    throw;
  }
  unsetenv("SLURM_JOB_ID");
  unsetenv("SLURM_RESTART_COUNT");
}

TEST(RunLock, HeartbeatKeepsTheLockFresh) {
  testing::TempDir dir;
  RunLock lock(dir.path(), 300, /*heartbeat_s=*/0.2);
  const auto old = std::filesystem::file_time_type::clock::now() - std::chrono::hours(1);
  std::filesystem::last_write_time(lock.path(), old);
  std::this_thread::sleep_for(700ms);
  EXPECT_GT(std::filesystem::last_write_time(lock.path()), old + std::chrono::minutes(59));
}

TEST(RunLock, StaleTemporariesOfDeadWritersAreRemoved) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.path() / "checkpoints");
  const auto dead = dir.path() / "checkpoints" / ".step-0000000010.pt.tmp-999999";
  const auto live = dir.path() / ".metrics.jsonl.tmp-1";  // pid 1 is alive
  const auto mine = dir.path() / (".summary.json.tmp-" + std::to_string(getpid()));
  const auto other = dir.path() / "notes.tmp-999999";  // not one of ours (no leading dot)
  for (const auto& p : {dead, live, mine, other}) std::ofstream(p) << "0123456789";
  const RemovedTemporaries removed = remove_stale_temporaries(dir.path());
  EXPECT_EQ(removed.files, 1);
  EXPECT_EQ(removed.bytes, 10u);
  EXPECT_FALSE(std::filesystem::exists(dead));
  EXPECT_TRUE(std::filesystem::exists(live));
  EXPECT_TRUE(std::filesystem::exists(mine));
  EXPECT_TRUE(std::filesystem::exists(other));
}

}  // namespace
}  // namespace wisesr
