// The wisesr executable as a user meets it: help texts, and bad input giving one clear line on
// stderr with a non-zero exit status. WISESR_BIN is the path of the binary under test.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_data.h"

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
  EXPECT_EQ(run("--version").status, 0);
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
