// Issue 15 ("no silent damage"): writes that fail, fail cleanly; metrics exact after a resume; a resume
// is checked against the run it continues. The end-to-end counterparts (a small tmpfs, real resumes under
// mpirun) are in tests/integration/reliability.sh.

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "core/fs.h"
#include "test_data.h"
#include "train/metrics.h"
#include "train/resume_check.h"
#include "train/run_reporter.h"

namespace wisesr {
namespace {

namespace stdfs = std::filesystem;

using testing::error_of;

int count_files(const stdfs::path& dir) {
  int n = 0;
  for ([[maybe_unused]] const auto& e : stdfs::directory_iterator(dir)) ++n;
  return n;
}

// --- F2: a failed write is one line naming the file and the cause -----------------------------------

TEST(FailedWrites, AnAppendToAFullDiskNamesTheFileAndSaysDiskFull) {
  // /dev/full answers every write with ENOSPC, as a full disk does.
  fs::AppendFile f("/dev/full");
  const std::string m = error_of([&] { f.write_line("{\"step\": 1}"); });
  EXPECT_NE(m.find("cannot write '/dev/full': No space left on device (disk full)"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
}

TEST(FailedWrites, MetricsLinesThatCannotBeWrittenThrowNamingTheFile) {
  train::JsonlWriter w("/dev/full");
  const std::string m = error_of([&] { w.write("{}"); });
  EXPECT_NE(m.find("/dev/full"), std::string::npos) << m;
  EXPECT_NE(m.find("disk full"), std::string::npos) << m;
}

TEST(FailedWrites, AnAtomicWriteThatFailsKeepsTheOldFileAndRemovesItsTemporary) {
  // A file size limit (RLIMIT_FSIZE, in a child process) makes the write fail part-way, as a disk that
  // fills up during it does.
  testing::TempDir dir;
  const auto p = dir.path() / "summary.json";
  fs::write_file_atomic(p, "old");
  auto limited_write = [&] {
    std::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of the signal
    rlimit lim{};
    lim.rlim_cur = lim.rlim_max = 4096;
    setrlimit(RLIMIT_FSIZE, &lim);
    const std::string m = error_of([&] { fs::write_file_atomic(p, std::string(100000, 'x')); });
    const bool named = m.find("cannot write '" + p.string() + "': File too large") != std::string::npos;
    const bool kept = fs::read_file(p) == "old" && count_files(dir.path()) == 1;
    std::fprintf(stderr, "%s\n", m.c_str());
    std::_Exit(named && kept ? 0 : (named ? 2 : 1));
  };
  EXPECT_EXIT(limited_write(), ::testing::ExitedWithCode(0), "");
}

TEST(FailedWrites, TheCauseIsSpelledOutForTheUsualErrors) {
  EXPECT_NE(fs::describe_write_error(ENOSPC).find("(disk full)"), std::string::npos);
  EXPECT_NE(fs::describe_write_error(EDQUOT).find("(quota exceeded)"), std::string::npos);
  EXPECT_NE(fs::describe_write_error(EROFS).find("(read-only file system)"), std::string::npos);
  EXPECT_NE(fs::describe_write_error(EIO).find("(I/O error"), std::string::npos);
}

// --- F10: metrics hold each step and epoch once after a resume ---------------------------------------

void write_text(const stdfs::path& p, const std::string& text) { std::ofstream(p) << text; }

std::string read_text(const stdfs::path& p) { return fs::read_file(p); }

TEST(ResumedMetrics, RecordsAfterTheCheckpointAndIncompleteEpochsAreDropped) {
  testing::TempDir dir;
  const auto p = dir.path() / "metrics.jsonl";
  write_text(p,
             "{\"kind\":\"train\",\"step\":5}\n"
             "{\"kind\":\"train\",\"step\":10}\n"
             "{\"kind\":\"epoch\",\"epoch\":1,\"step\":10,\"complete\":true}\n"
             "{\"kind\":\"train\",\"step\":15}\n"
             "{\"kind\":\"train\",\"step\":17}\n"
             "{\"kind\":\"epoch\",\"epoch\":2,\"step\":17,\"complete\":false}\n"
             "{\"kind\":\"train\",\"step\":20}\n"
             "{\"kind\":\"tra");  // torn by a kill
  EXPECT_EQ(train::cut_metrics_jsonl(p, 17), 3u);
  EXPECT_EQ(read_text(p),
            "{\"kind\":\"train\",\"step\":5}\n"
            "{\"kind\":\"train\",\"step\":10}\n"
            "{\"kind\":\"epoch\",\"epoch\":1,\"step\":10,\"complete\":true}\n"
            "{\"kind\":\"train\",\"step\":15}\n"
            "{\"kind\":\"train\",\"step\":17}\n");
  EXPECT_EQ(train::cut_metrics_jsonl(p, 17), 0u) << "nothing more to drop";
  EXPECT_EQ(train::cut_metrics_jsonl(p, -1), 5u) << "a fresh start keeps nothing";
  EXPECT_EQ(read_text(p), "");
  EXPECT_EQ(train::cut_metrics_jsonl(dir.path() / "none.jsonl", 3), 0u);
  EXPECT_EQ(count_files(dir.path()), 1) << "no temporary left";
}

TEST(ResumedMetrics, EpochRowsAfterTheCheckpointOrIncompleteAreDropped) {
  testing::TempDir dir;
  const auto p = dir.path() / "epochs.csv";
  const std::string header = "epoch,step,lr,train_loss,complete\n";
  write_text(p, header + "1,10,0.045,1.0,1\n2,17,0.045,0.9,0\n2,20,0.045,0.8,1\n3,2");
  EXPECT_EQ(train::cut_epochs_csv(p, 17), 3u);
  EXPECT_EQ(read_text(p), header + "1,10,0.045,1.0,1\n");
  EXPECT_EQ(train::cut_epochs_csv(p, -1), 1u);
  EXPECT_EQ(read_text(p), header) << "the header stays";
}

TEST(ResumedMetrics, TheRunFilesAreCutWhenTheReporterStartsAndEachStartIsRecorded) {
  testing::TempDir dir;
  write_text(dir.path() / "metrics.jsonl",
             "{\"kind\":\"train\",\"step\":4}\n{\"kind\":\"train\",\"step\":9}\n");
  {
    train::RunStart fresh{"[train]\nepochs = 3\n", -1, {}, {}, false};
    train::RunFilesReporter r(dir.path(), fresh, "");
  }
  EXPECT_EQ(read_text(dir.path() / "metrics.jsonl"), "")
      << "a fresh start drops an earlier attempt's records";
  write_text(dir.path() / "metrics.jsonl",
             "{\"kind\":\"train\",\"step\":4}\n{\"kind\":\"train\",\"step\":9}\n");
  {
    train::RunStart resumed{
        "[train]\nepochs = 4\n", 4, dir.path() / "checkpoints/step-4.pt", {"train.epochs: 3 -> 4"}, false};
    train::RunFilesReporter r(dir.path(), resumed, "");
  }
  EXPECT_EQ(read_text(dir.path() / "metrics.jsonl"), "{\"kind\":\"train\",\"step\":4}\n");
  EXPECT_EQ(read_text(dir.path() / "config.ini"), "[train]\nepochs = 4\n");
  const std::string first = read_text(dir.path() / "config-history/001.ini");
  const std::string second = read_text(dir.path() / "config-history/002.ini");
  EXPECT_NE(first.find(": a fresh start\n[train]\nepochs = 3\n"), std::string::npos) << first;
  EXPECT_NE(second.find(": resumed from step 4 ("), std::string::npos) << second;
  EXPECT_NE(second.find("# changed train.epochs: 3 -> 4\n[train]\nepochs = 4\n"), std::string::npos)
      << second;
}

// --- F3: a resume is checked against what was run ----------------------------------------------------

const char* kBase =
    "[model]\nbackbone = resnet-tiny\nhead = wise\n\n[optim]\nlr = 0.045\n\n"
    "[train]\nepochs = 3\nbatch_size = 2\naccum_steps = 1\nseed = 42\nlog_every = 10\nprecision = fp32\n\n"
    "[data]\ndir = /a\nworkers = 1\nimage_size = 32\n";

std::string with(std::string ini, const std::string& from, const std::string& to) {
  const auto at = ini.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return ini.replace(at, from.size(), to);
}

TEST(ResumeCheck, TheSameConfigHasNoDifferences) {
  const auto r = train::check_resume(kBase, kBase, 2, 2);
  EXPECT_TRUE(r.refused.empty());
  EXPECT_TRUE(r.allowed.empty());
}

TEST(ResumeCheck, HowTheRunIsCarriedOutMayChange) {
  std::string now = with(kBase, "epochs = 3", "epochs = 4");
  now = with(now, "log_every = 10", "log_every = 1");
  now = with(now, "workers = 1", "workers = 8");
  now = with(now, "dir = /a", "dir = /local/a");
  const auto r = train::check_resume(kBase, now, 2, 2);
  EXPECT_TRUE(r.refused.empty());
  ASSERT_EQ(r.allowed.size(), 4u);
  EXPECT_EQ(r.allowed[0].describe(), "train.epochs: 3 -> 4");
  EXPECT_EQ(r.allowed[3].describe(), "data.workers: 1 -> 8");
}

TEST(ResumeCheck, WhatDefinesTheExperimentMayNotAndEveryDifferenceIsListed) {
  std::string now = with(kBase, "head = wise", "head = wise-dropout");
  now = with(now, "lr = 0.045", "lr = 0.5");
  now = with(now, "seed = 42", "seed = 7");
  now = with(now, "precision = fp32", "precision = bf16");
  now = with(now, "image_size = 32", "image_size = 64");
  const auto r = train::check_resume(kBase, now, 2, 2);
  ASSERT_EQ(r.refused.size(), 5u);
  EXPECT_EQ(r.refused[0].describe(), "model.head: wise -> wise-dropout");
  EXPECT_EQ(r.refused[1].describe(), "optim.lr: 0.045 -> 0.5");
  EXPECT_EQ(r.refused[2].describe(), "train.seed: 42 -> 7");
  EXPECT_EQ(r.refused[3].describe(), "train.precision: fp32 -> bf16");
  EXPECT_EQ(r.refused[4].describe(), "data.image_size: 32 -> 64");
}

TEST(ResumeCheck, TheBatchMayBeRedistributedButNotResized) {
  // 2 ranks x 2 resumed as 1 rank x 4: the same global batch.
  auto r = train::check_resume(kBase, with(kBase, "batch_size = 2", "batch_size = 4"), 2, 1);
  EXPECT_TRUE(r.refused.empty()) << r.refused[0].describe();
  EXPECT_EQ(r.allowed.size(), 2u);  // batch_size and the world size
  // Accumulation instead of ranks: 2 x 2 ranks = 1 x 2 accumulation x 2 ranks.
  std::string accum =
      with(with(kBase, "batch_size = 2", "batch_size = 1"), "accum_steps = 1", "accum_steps = 2");
  EXPECT_TRUE(train::check_resume(kBase, accum, 2, 2).refused.empty());
  // A larger per-rank batch on as many ranks: another experiment.
  r = train::check_resume(kBase, with(kBase, "batch_size = 2", "batch_size = 4"), 2, 2);
  ASSERT_EQ(r.refused.size(), 1u);
  EXPECT_EQ(r.refused[0].describe(), "train.batch_size: 2 -> 4");
  // The world size alone may change (docs/training.md, "Another world size"), and is recorded.
  r = train::check_resume(kBase, kBase, 2, 4);
  EXPECT_TRUE(r.refused.empty());
  ASSERT_EQ(r.allowed.size(), 1u);
  EXPECT_EQ(r.allowed[0].describe(), "world size (global batch): 2 (4) -> 4 (8)");
}

TEST(ResumeCheck, KeysAnOlderCheckpointDoesNotHaveAreNotCompared) {
  const auto r = train::check_resume(kBase, std::string(kBase) + "crop_ratio_max = 1.5\n", 2, 2);
  EXPECT_TRUE(r.refused.empty());
  EXPECT_TRUE(r.allowed.empty());
}

TEST(ResumeCheck, AnOptionNobodyListedDefinesTheExperiment) {
  EXPECT_FALSE(train::resume_may_change("model.some_new_option"));
  EXPECT_TRUE(train::resume_may_change("train.epochs"));
  EXPECT_FALSE(train::resume_may_change("train.seed"));
}

}  // namespace
}  // namespace wisesr
