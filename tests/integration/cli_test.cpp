// The wisesr executable as a user meets it: help texts, and bad input giving one clear line on
// stderr with a non-zero exit status. WISESR_BIN is the path of the binary under test.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
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
  for (const char* cmd : {"synth", "prep", "verify", "train", "eval", "params", "export"}) {
    EXPECT_NE(r.out.find(cmd), std::string::npos) << cmd;
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
  expect_one_line_error(run("eval --checkpoint " + missing + "/c.pt --data " + missing), missing);
  expect_one_line_error(run("export --checkpoint " + missing + "/c.pt --out x.pt"), missing);
#if WISESR_HAVE_OPENCV
  expect_one_line_error(run("verify " + missing), missing);
#endif
  expect_one_line_error(run("params --model resnet1000"), "resnet1000");
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
}

}  // namespace
