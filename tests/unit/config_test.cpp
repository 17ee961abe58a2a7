#include <gtest/gtest.h>

#include <fstream>

#include "config/cli.h"
#include "core/error.h"
#include "test_data.h"

namespace wisesr::config {
namespace {

std::string write_ini(const std::filesystem::path& dir, const std::string& text) {
  auto p = dir / "c.cfg";
  std::ofstream(p) << text;
  return p.string();
}

TEST(Cli, CommandLineOverridesIniOverridesDefaults) {
  testing::TempDir dir;
  auto file = write_ini(dir.path(), "[data]\ndir = /data/a\n[train]\nbatch_size = 7\nepochs = 3\n");
  Config cfg;
  parse_train_args({"--config", file, "--train.epochs", "5"}, cfg);
  EXPECT_EQ(cfg.data.dir, "/data/a");  // from file
  EXPECT_EQ(cfg.train.batch_size, 7);  // from file
  EXPECT_EQ(cfg.train.epochs, 5);      // command line wins
  EXPECT_EQ(cfg.model.head, "wise");   // default
  EXPECT_DOUBLE_EQ(cfg.optim.lr, 0.045);
}

TEST(Cli, ResolvedIniRoundTrips) {
  Config cfg;
  parse_train_args({"--data.dir", "x", "--optim.lr", "0.0125", "--data.hflip", "false", "--train.seed", "99"},
                   cfg);
  Config back = from_ini(to_ini(cfg));
  EXPECT_EQ(to_ini(back), to_ini(cfg));
  EXPECT_DOUBLE_EQ(back.optim.lr, 0.0125);
  EXPECT_FALSE(back.data.hflip);
  EXPECT_EQ(back.train.seed, 99u);
}

TEST(Cli, BadInputIsOneClearError) {
  Config cfg;
  EXPECT_THROW(parse_train_args({"--no.such.option", "1"}, cfg), Error);
  EXPECT_THROW(parse_train_args({"--train.epochs", "many"}, cfg), Error);
  EXPECT_THROW(parse_train_args({"stray"}, cfg), Error);
  EXPECT_THROW(parse_train_args({"--config", "/nonexistent.cfg"}, cfg), Error);
  testing::TempDir dir;
  try {
    parse_train_args({"--config", write_ini(dir.path(), "[train]\nbogus = 1\n")}, cfg);
    FAIL() << "no exception";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("c.cfg"), std::string::npos) << what;
    EXPECT_NE(what.find("bogus"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << "must be one line: " << what;
  }
  EXPECT_THROW(parse_train_args({"--config", write_ini(dir.path(), "[train\nepochs = 1\n")}, cfg), Error);
}

TEST(Cli, HelpListsEveryOptionWithItsHelp) {
  Config cfg;
  auto parsed = parse_train_args({"--help"}, cfg);
  ASSERT_TRUE(parsed.help);
  visit_fields(cfg, [&](const char* section, const char* key, auto&, const char* help) {
    EXPECT_NE(parsed.help_text.find(std::string(section) + "." + key), std::string::npos)
        << section << "." << key;
    EXPECT_GT(std::string(help).size(), 5u);
  });
}

TEST(Config, ValidateNamesTheBadOption) {
  Config cfg;
  cfg.data.dir = "d";
  EXPECT_NO_THROW(cfg.validate());
  cfg.train.batch_size = 0;
  try {
    cfg.validate();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--train.batch_size"), std::string::npos);
  }
  cfg = Config{};
  EXPECT_THROW(cfg.validate(), Error);  // data.dir missing
  cfg.data.dir = "d";
  cfg.model.dropout = 1.5;
  EXPECT_THROW(cfg.validate(), Error);
}

TEST(Cli, SubcommandOptionsAreChecked) {
  SynthConfig s;
  EXPECT_THROW(parse_synth_args({}, s), Error);  // --out required
  parse_synth_args({"--out", "x", "--classes", "1"}, s);
  EXPECT_THROW(s.validate(), Error);
  PrepConfig p;
  EXPECT_THROW(parse_prep_args({"--input", "a"}, p), Error);
  parse_prep_args({"--input", "a", "--out", "b", "--val-fraction", "1.5"}, p);
  EXPECT_THROW(p.validate(), Error);
  EvalConfig e;
  EXPECT_THROW(parse_eval_args({"--checkpoint", "c"}, e), Error);
  parse_eval_args({"--checkpoint", "c", "--data", "d", "--batch_size", "0"}, e);
  EXPECT_THROW(e.validate(), Error);
}

TEST(Cli, BenchOptions) {
  BenchTrainConfig t;
  parse_bench_train_args({"--model", "resnet-tiny", "--image-size", "64", "--batch", "4", "--channels-last",
                          "false", "--sync", "none", "--synthetic"},
                         t);
  EXPECT_EQ(t.model, "resnet-tiny");
  EXPECT_EQ(t.image_size, 64);
  EXPECT_FALSE(t.channels_last);
  EXPECT_NO_THROW(t.validate());
  t.sync = "gloo";
  EXPECT_THROW(t.validate(), Error);
  EXPECT_THROW(parse_bench_train_args({"--batch", "many"}, t), Error);
  BenchCommConfig c;
  parse_bench_comm_args({"--sizes", "1K,64K", "--iters", "3", "--dtype", "bf16"}, c);
  EXPECT_NO_THROW(c.validate());
  c.dtype = "int8";
  EXPECT_THROW(c.validate(), Error);
}

TEST(Config, ParseSizes) {
  EXPECT_EQ(parse_sizes("1K,64K,1M,2G,7"), (std::vector<int64_t>{1024, 65536, 1 << 20, int64_t{2} << 30, 7}));
  EXPECT_EQ(parse_sizes("3k,5m"), (std::vector<int64_t>{3072, 5 << 20}));
  for (const char* bad : {"", "1K,", ",1K", "0", "-1K", "1KB", "x", "1.5M", "17G"})
    EXPECT_THROW(parse_sizes(bad), Error) << bad;
}

}  // namespace
}  // namespace wisesr::config
