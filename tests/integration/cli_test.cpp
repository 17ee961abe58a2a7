// The wisesr executable as a user meets it: help texts, and bad input giving one clear line on
// stderr with a non-zero exit status. WISESR_BIN is the path of the binary under test.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_data.h"
#include "wisesr/build_config.h"

namespace {

struct Result {
  int status = -1;
  std::string out, err;
};

Result run(const std::string& args) {
  wisesr::testing::TempDir tmp;
  const auto out = tmp.path() / "out", err = tmp.path() / "err";
  const std::string cmd = std::string(WISESR_BIN) + " " + args + " >" + out.string() + " 2>" + err.string();
  const int rc = std::system(cmd.c_str());
  Result r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

int lines(const std::string& s) {
  int n = 0;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) ++n;
  return n;
}

void expect_one_line_error(const Result& r, const std::string& must_contain) {
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(lines(r.err), 1) << "stderr:\n" << r.err;
  EXPECT_NE(r.err.find("error"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(must_contain), std::string::npos) << "expected '" << must_contain << "' in: " << r.err;
}

TEST(Cli, HelpListsEverySubcommand) {
  auto r = run("--help");
  EXPECT_EQ(r.status, 0);
  for (const char* cmd : {"synth", "prep", "verify", "train", "eval", "params", "export", "bench"}) {
    EXPECT_NE(r.out.find(cmd), std::string::npos) << cmd;
    auto sub = run(std::string(cmd) + " --help");
    EXPECT_EQ(sub.status, 0) << cmd << ": " << sub.err;
    EXPECT_NE(sub.out.find("Usage: "), std::string::npos) << cmd;
  }
  for (const char* cmd : {"bench train", "bench data", "bench comm"}) {
    auto sub = run(std::string(cmd) + " --help");
    EXPECT_EQ(sub.status, 0) << cmd << ": " << sub.err;
    EXPECT_NE(sub.out.find("Usage: "), std::string::npos) << cmd;
  }
  const auto version = run("--version");
  EXPECT_EQ(version.status, 0);
  // Scripts read the optional parts from it (launch/quickstart.sh: TensorBoard).
  EXPECT_NE(version.out.find("built with: "), std::string::npos) << version.out;
  EXPECT_EQ(version.out.find("TensorBoard") != std::string::npos, WISESR_HAVE_TENSORBOARD == 1)
      << version.out;
  EXPECT_EQ(version.out.find("OpenCV") != std::string::npos, WISESR_HAVE_OPENCV == 1) << version.out;
}

TEST(Cli, NoArgumentsPrintsUsageAndFails) {
  auto r = run("");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("Usage"), std::string::npos);
}

TEST(Cli, UnknownSubcommandAndOption) {
  expect_one_line_error(run("frobnicate"), "unknown command 'frobnicate'");
  expect_one_line_error(run("train --no-such-option 3"), "no-such-option");
  expect_one_line_error(run("prep --input a --out b --bogus"), "bogus");
}

TEST(Cli, MissingInputsAreNamed) {
  wisesr::testing::TempDir tmp;
  const auto missing = (tmp.path() / "no_such_dir").string();
#if WISESR_HAVE_OPENCV
  expect_one_line_error(run("prep --input " + missing + " --out " + (tmp.path() / "o").string()), missing);
#else
  expect_one_line_error(run("prep --input " + missing + " --out " + (tmp.path() / "o").string()), "OpenCV");
#endif
  expect_one_line_error(run("train --data.dir " + missing + " --train.device cpu"), missing);
  expect_one_line_error(run("eval --checkpoint " + missing + "/c.pt --data.dir " + missing), missing);
  expect_one_line_error(run("export --checkpoint " + missing + "/c.pt --out x.pt"), missing);
#if WISESR_HAVE_OPENCV
  expect_one_line_error(run("verify " + missing), missing);
#endif
  expect_one_line_error(run("params --model.backbone resnet1000"), "--model.backbone 'resnet1000'");
  expect_one_line_error(run("train --data.dir x --model.head max --train.device cpu"), "--model.head 'max'");
}

TEST(Cli, MalformedConfigIsNamed) {
  wisesr::testing::TempDir tmp;
  const auto cfg = tmp.path() / "broken.cfg";
  std::ofstream(cfg) << "[train\nepochs = two\n";
  expect_one_line_error(run("train --config " + cfg.string()), "broken.cfg");
  std::ofstream(cfg, std::ios::trunc) << "[train]\nepochs = two\n";
  expect_one_line_error(run("train --config " + cfg.string() + " --data.dir x"), "epochs");
  expect_one_line_error(run("train --data.dir x --train.batch_size 0"), "--train.batch_size");
  expect_one_line_error(run("train --data.dir x --train.cuda_graph sometimes"), "--train.cuda_graph");
}

// No raw byte of what a message quotes reaches the terminal: a binary config file is named by position.
TEST(Cli, ABinaryConfigIsNamedWithoutItsBytes) {
  auto r = run("train --config /bin/ls --data.dir x");
  expect_one_line_error(r, "'/bin/ls' is not a text config: byte 0x7f at line 1, column 1");
  for (const char c : r.err)
    EXPECT_TRUE(c == '\n' || (c >= 0x20 && c < 0x7f))
        << "raw byte " << static_cast<int>(c) << " in: " << r.err;
  wisesr::testing::TempDir tmp;
  expect_one_line_error(run("train --config " + tmp.path().string() + " --data.dir x"),
                        "is a directory, not a file");
}

// What a training run is handed is checked before its first step: a split the dataset lacks (it used to
// disable validation silently), an empty training split (whose message blamed the batch size) and a
// dataset of one class (top-1 = 1 whatever the model learns). Then eval on a missing or empty split, and
// a run directory where a checkpoint file is expected.
TEST(Cli, SplitsAndClassesAreCheckedBeforeTrainingAndEvaluation) {
  wisesr::testing::TempDir tmp;
  const auto data = tmp.path() / "data", noval = tmp.path() / "noval", one = tmp.path() / "one";
  wisesr::testing::TinyDatasetSpec spec;
  spec.size = 32;
  wisesr::testing::write_tiny_dataset(data, spec);
  spec.val_per_class = 0;
  wisesr::testing::write_tiny_dataset(noval, spec);
  spec.classes = 1;
  wisesr::testing::write_tiny_dataset(one, spec);
  const std::string train =
      "train --train.device cpu --train.threads 1 --model.backbone resnet-tiny "
      "--train.batch_size 2 --train.max_steps 1 --train.progress lines --train.out_dir " +
      (tmp.path() / "runs").string() + " --data.dir ";
  expect_one_line_error(run(train + data.string() + " --train.run_name a --data.val_split nosuch"),
                        "no split 'nosuch' in '" + data.string() + "' (it has: train, val)");
  expect_one_line_error(run(train + data.string() + " --train.run_name b --data.train_split test"),
                        "no split 'test' in '" + data.string() + "' (it has: train, val)");
  expect_one_line_error(run(train + noval.string() + " --train.run_name c --data.train_split val"),
                        "split 'val' of '" + noval.string() + "' is empty (0 records): nothing to train on");
  expect_one_line_error(run(train + one.string() + " --train.run_name d"),
                        "has 1 class ('class_0'): a classifier needs at least 2");

  auto ok = run(train + data.string() + " --train.run_name good");
  ASSERT_EQ(ok.status, 0) << ok.err;
  const auto run_dir = tmp.path() / "runs" / "good";
  const std::string ckpt = (run_dir / "checkpoints" / "last.pt").string();
  expect_one_line_error(run("eval --train.device cpu --checkpoint " + ckpt + " --data.dir " + data.string() +
                            " --data.val_split nosuch"),
                        "no split 'nosuch' in '" + data.string() + "' (it has: train, val)");
  expect_one_line_error(run("eval --train.device cpu --checkpoint " + ckpt + " --data.dir " + noval.string()),
                        "split 'val' of '" + noval.string() + "' is empty (0 records): nothing to evaluate");
  expect_one_line_error(
      run("eval --checkpoint " + run_dir.string() + " --data.dir " + data.string()),
      "--checkpoint '" + run_dir.string() + "' is a directory, not a file (did you mean '" + ckpt + "'?)");
  expect_one_line_error(
      run("export --checkpoint " + run_dir.string() + " --out " + (tmp.path() / "x.pt").string()),
      "--checkpoint '" + run_dir.string() + "' is a directory, not a file");
}

TEST(Cli, BoundedOptionsSayTheirBound) {
  expect_one_line_error(run("train --data.dir x --data.workers 100000"), "--data.workers must be in [0, ");
  expect_one_line_error(run("train --data.dir x --data.prefetch 1000"), "--data.prefetch must be in [1, 64]");
  expect_one_line_error(run("prep --input a --out b --shard-records -1"),
                        "--shard-records must be in [0, 1000000]");
}

#if WISESR_HAVE_OPENCV
// prep refuses what a classifier cannot be trained on, with exit status 1: it used to print
// "prepared 0 train + 0 val records" and exit 0.
TEST(Cli, PrepRefusesUnusableInputsAndOneClass) {
  wisesr::testing::TempDir tmp;
  const auto junk = tmp.path() / "junk";
  for (const char* f : {"a/1.jpg", "a/2.jpg", "b/1.jpg", "b/2.png"}) {
    std::filesystem::create_directories((junk / f).parent_path());
    std::ofstream(junk / f) << "not an image";
  }
  const auto out = tmp.path() / "out";
  expect_one_line_error(run("prep --input " + junk.string() + " --out " + out.string() + " --size 32"),
                        "no usable training image in '" + junk.string() + "': all ");
  auto r = run("prep --input " + junk.string() + " --out " + out.string() + " --size 32 --val-fraction 0");
  expect_one_line_error(r, "no usable training image in '" + junk.string() +
                               "': all 4 training input(s) were skipped (4 skipped in all; reasons in '" +
                               (out / "skipped.tsv").string() + "')");
  EXPECT_FALSE(std::filesystem::exists(out / "index.json"));
  EXPECT_TRUE(std::filesystem::exists(out / "skipped.tsv"));
  EXPECT_FALSE(std::filesystem::exists(out / "prep-journal.jsonl"));

  // Two classes, but only one with a usable image: a one-class dataset all the same.
  const auto half = tmp.path() / "half";
  ASSERT_EQ(run("synth --out " + half.string() + " --classes 2 --per-class 3 --size 32").status, 0);
  std::vector<std::filesystem::path> classes;
  for (const auto& e : std::filesystem::directory_iterator(half)) classes.push_back(e.path());
  std::sort(classes.begin(), classes.end());
  ASSERT_EQ(classes.size(), 2u);
  for (const auto& e : std::filesystem::directory_iterator(classes[1]))
    std::ofstream(e.path(), std::ios::trunc) << "not an image";
  expect_one_line_error(
      run("prep --input " + half.string() + " --out " + (tmp.path() / "o2").string() + " --size 32"),
      "only 1 class of '" + half.string() + "' ('" + classes[0].filename().string() +
          "') has usable training images: a classifier needs at least 2 (3 input(s) skipped");
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "o2" / "index.json"));
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "o2" / "train-00000.h5"))
      << "shards of a refused dataset";

  std::filesystem::remove_all(junk / "b");
  expect_one_line_error(run("prep --input " + junk.string() + " --out " + (tmp.path() / "o1").string()),
                        "'" + junk.string() + "' has 1 class ('a'): a classifier needs at least 2");
  expect_one_line_error(run("prep --input " + junk.string() + " --out " + (junk / "shards").string()),
                        "lies inside --input");
}
#endif

TEST(Cli, BenchTrainOnCpuWritesSaneJson) {
  wisesr::testing::TempDir tmp;
  const auto json_path = tmp.path() / "out.json";
  auto r = run(
      "bench train --model.backbone resnet-tiny --model.head wise --data.image_size 64 --train.batch_size 4 "
      "--steps 3 --warmup 1 --breakdown-steps 2 --train.device cpu --train.threads 1 --synthetic --json " +
      json_path.string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(lines(r.out), 1) << r.out;  // the one-line summary
  EXPECT_NE(r.out.find("img/s"), std::string::npos) << r.out;
  std::ifstream in(json_path);
  ASSERT_TRUE(in.good()) << json_path;
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j.at("impl"), "wisesr");
  EXPECT_EQ(j.at("model"), "resnet-tiny");
  EXPECT_EQ(j.at("head"), "wise");
  EXPECT_EQ(j.at("image_size"), 64);
  EXPECT_EQ(j.at("batch"), 4);
  EXPECT_EQ(j.at("steps"), 3);
  EXPECT_EQ(j.at("device"), "cpu");
  EXPECT_EQ(j.at("precision"), "fp32");     // auto on the CPU
  EXPECT_EQ(j.at("channels_last"), false);  // CUDA only
  EXPECT_EQ(j.at("backend"), "mpi");        // --train.backend auto on the CPU
  EXPECT_EQ(j.at("sync"), "auto");
  EXPECT_EQ(j.at("ranks"), 1);
  EXPECT_GE(j.at("grad_buckets").get<int>(), 1);
  EXPECT_GT(j.at("params").get<int64_t>(), 0);
  const double step_ms = j.at("step_ms"), img_s = j.at("img_per_s");
  EXPECT_GT(step_ms, 0.0);
  EXPECT_LE(j.at("step_ms_min").get<double>(), step_ms);
  EXPECT_GE(j.at("step_ms_max").get<double>(), step_ms);
  EXPECT_NEAR(img_s, 4 * 1000.0 / step_ms, 1e-6 * img_s);
  for (const char* phase : {"forward_ms", "backward_ms", "optimizer_ms"})
    EXPECT_GT(j.at(phase).get<double>(), 0.0) << phase;
  EXPECT_EQ(j.at("peak_mem_bytes"), 0);  // no CUDA allocator on the CPU
  EXPECT_GT(j.at("max_rss_bytes").get<int64_t>(), 0);

  // Without GradSync, and without a breakdown pass.
  auto none = run(
      "bench train --model.backbone resnet-tiny --model.head gap --data.image_size 32 --train.batch_size 2 "
      "--steps 2 --warmup 0 --breakdown-steps 0 --train.device cpu --train.threads 1 --no-sync --json " +
      json_path.string());
  ASSERT_EQ(none.status, 0) << none.err;
  std::ifstream in2(json_path);
  const auto k = nlohmann::json::parse(in2);
  EXPECT_EQ(k.at("backend"), "none");
  EXPECT_EQ(k.at("sync"), "none");
  EXPECT_EQ(k.at("grad_buckets"), 0);
  EXPECT_TRUE(k.at("forward_ms").is_null());
}

TEST(Cli, BenchBadOptionsAreOneLine) {
  expect_one_line_error(run("bench frob"), "unknown benchmark 'frob'");
  expect_one_line_error(run("bench train --train.batch_size 0"), "--train.batch_size");
  expect_one_line_error(run("bench train --bogus 1"), "bogus");
  expect_one_line_error(run("bench train --image-size 64"), "image-size");  // the old spelling is gone
  expect_one_line_error(run("bench train --train.backend gloo"), "--train.backend");
  expect_one_line_error(run("bench train --train.precision fp8"), "--train.precision");
  expect_one_line_error(run("bench train --model.backbone resnet1000 --train.device cpu"), "resnet1000");
  expect_one_line_error(
      run("bench train --data.image_size 64 --train.batch_size 2 --train.precision fp16 --train.device cpu"),
      "fp16");
  expect_one_line_error(run("bench train --data.image_size 32 --train.batch_size 2 --train.device cpu "
                            "--train.cuda_graph on"),
                        "--train.cuda_graph on: the run is on the CPU");
  expect_one_line_error(run("bench train --train.cuda_graph sometimes"), "--train.cuda_graph");
  expect_one_line_error(run("bench data --data.dir x --data.decode gpu"), "--data.decode");
  expect_one_line_error(run("bench comm --sizes 1K,x"), "--sizes");
  expect_one_line_error(run("bench comm --dtype int8"), "--dtype");
  expect_one_line_error(run("bench comm --iters 0"), "--iters");
  auto bare = run("bench");
  EXPECT_NE(bare.status, 0);
  EXPECT_NE(bare.err.find("Usage"), std::string::npos);
}

}  // namespace
