#include <gtest/gtest.h>

#include <fstream>

#include "config/cli.h"
#include "core/error.h"
#include "prep_options.h"
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
  EXPECT_DOUBLE_EQ(cfg.schedule.lr, 0.045);
}

TEST(Cli, AnOptionGivenTwiceTakesItsLastValue) {
  // A wrapper's defaults, then the user's overrides (cluster/slurm/train.sbatch passes both).
  Config cfg;
  parse_train_args({"--train.epochs", "5", "--data.dir", "/a", "--train.epochs=7", "--data.dir", "/b"}, cfg);
  EXPECT_EQ(cfg.train.epochs, 7);
  EXPECT_EQ(cfg.data.dir, "/b");
}

TEST(Cli, ResolvedIniRoundTrips) {
  Config cfg;
  parse_train_args({"--data.dir", "x", "--optim.lr", "0.0125", "--data.hflip", "false", "--train.seed", "99",
                    "--train.precision", "bf16", "--data.decode", "cpu"},
                   cfg);
  Config back = from_ini(to_ini(cfg));
  EXPECT_EQ(to_ini(back), to_ini(cfg));
  EXPECT_DOUBLE_EQ(back.schedule.lr, 0.0125);
  EXPECT_FALSE(back.augment.hflip);
  EXPECT_EQ(back.train.seed, 99u);
  EXPECT_EQ(back.runtime.precision, train::Precision::kBf16);  // modes as their names in the INI
  EXPECT_EQ(back.data.decode, data::Decode::kCpu);
  EXPECT_NE(to_ini(cfg).find("precision = bf16"), std::string::npos) << to_ini(cfg);
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
  visit_fields(cfg, [&](const char* section, const char* key, auto&, const std::string& help) {
    EXPECT_NE(parsed.help_text.find(std::string(section) + "." + key), std::string::npos)
        << section << "." << key;
    EXPECT_GT(help.size(), 5u);
  });
  // Modes show their values; the backbone and head help come from the registries.
  EXPECT_NE(parsed.help_text.find("--train.precision auto|fp32|bf16|fp16"), std::string::npos)
      << parsed.help_text;
  EXPECT_NE(parsed.help_text.find("densenet201: torchvision densenet201"), std::string::npos);
  EXPECT_NE(parsed.help_text.find("wise-dropout: "), std::string::npos);
}

// One spelling: an option a subcommand shares with train is the same --<section>.<key>, with the same help,
// in every subcommand's --help.
TEST(Cli, SharedOptionsHaveOneSpellingInEverySubcommand) {
  Config train;
  const std::string train_help = parse_train_args({"--help"}, train).help_text;
  EvalConfig eval;
  BenchTrainConfig bench;
  BenchDataConfig data;
  ParamsConfig params;
  const std::vector<std::pair<std::string, std::string>> helps = {
      {"eval", parse_eval_args({"--help"}, eval).help_text},
      {"bench train", parse_bench_train_args({"--help"}, bench).help_text},
      {"bench data", parse_bench_data_args({"--help"}, data).help_text},
      {"params", parse_params_args({"--help"}, params).help_text}};
  const std::vector<std::pair<std::string, std::vector<std::string>>> shared = {
      {"eval", {"--data.dir", "--data.val_split", "--data.decode", "--train.batch_size", "--train.device"}},
      {"bench train",
       {"--model.backbone", "--data.image_size", "--train.batch_size", "--train.cuda_graph",
        "--train.precision", "--train.device", "--data.decode", "--data.augment", "--train.backend",
        "--train.channels_last"}},
      {"bench data",
       {"--data.dir", "--data.image_size", "--train.batch_size", "--data.decode", "--train.device"}},
      {"params", {"--model.backbone", "--model.head", "--data.image_size"}}};
  for (size_t i = 0; i < helps.size(); ++i) {
    for (const auto& option : shared[i].second) {
      EXPECT_NE(helps[i].second.find(option + " "), std::string::npos) << helps[i].first << ": " << option;
      EXPECT_NE(train_help.find(option + " "), std::string::npos) << option;
    }
  }
  for (const auto& [command, help] : helps) {
    for (const char* old :
         {"--image-size", "--batch ", "--batch_size", "--cuda-graph", "--split", "--precision"})
      EXPECT_EQ(help.find(old), std::string::npos) << command << " still spells " << old;
  }
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
  cfg.model.dropout = -1;
  cfg.model.backbone = "resnet1000";  // names are checked against the registry
  try {
    cfg.validate();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("--model.backbone 'resnet1000' is unknown (valid: resnet-tiny, resnet18"),
              std::string::npos)
        << e.message();
  }
}

TEST(Cli, ModesAreParsedOnceAndBadOnesNamed) {
  Config cfg;
  parse_train_args({"--train.cuda_graph", "off", "--data.augment", "imagenet", "--train.progress", "lines"},
                   cfg);
  EXPECT_EQ(cfg.runtime.cuda_graph, train::CudaGraph::kOff);
  EXPECT_EQ(cfg.augment.augment, data::Augment::kImagenet);
  EXPECT_EQ(cfg.train.progress, train::Progress::kLines);
  try {
    parse_train_args({"--train.precision", "fp8"}, cfg);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "--train.precision must be auto, fp32, bf16 or fp16, got 'fp8'");
  }
  testing::TempDir dir;
  EXPECT_THROW(parse_train_args({"--config", write_ini(dir.path(), "[data]\ndecode = gpu\n")}, cfg), Error);
}

TEST(Cli, SubcommandOptionsAreChecked) {
  prep::SynthOptions s;
  EXPECT_THROW(parse_synth_args({}, s), Error);  // --out required
  parse_synth_args({"--out", "x", "--classes", "1"}, s);
  EXPECT_THROW(s.validate(), Error);
  prep::PrepOptions p;
  EXPECT_THROW(parse_prep_args({"--input", "a"}, p), Error);
  parse_prep_args({"--input", "a", "--out", "b", "--val-fraction", "1.5"}, p);
  EXPECT_THROW(p.validate(), Error);
  EvalConfig e;
  EXPECT_EQ(e.train.batch_size, 64);  // eval's own default for the shared option
  EXPECT_THROW(parse_eval_args({"--checkpoint", "c", "--data.dir", "d", "--data.image_size", "64"}, e),
               Error);  // not an eval option: the checkpoint fixes the size
  parse_eval_args({"--checkpoint", "c"}, e);
  EXPECT_THROW(e.validate(), Error);  // --data.dir required
  parse_eval_args({"--checkpoint", "c", "--data.dir", "d", "--train.batch_size", "0"}, e);
  EXPECT_THROW(e.validate(), Error);
}

TEST(Cli, BenchOptions) {
  BenchTrainConfig t;
  parse_bench_train_args({"--model.backbone", "resnet-tiny", "--data.image_size", "64", "--train.batch_size",
                          "4", "--train.channels_last", "false", "--no-sync", "--synthetic"},
                         t);
  EXPECT_EQ(t.model.backbone, "resnet-tiny");
  EXPECT_EQ(t.data.image_size, 64);
  EXPECT_EQ(t.train.batch_size, 4);
  EXPECT_FALSE(t.runtime.channels_last);
  EXPECT_TRUE(t.no_sync);
  EXPECT_NO_THROW(t.validate());
  EXPECT_THROW(parse_bench_train_args({"--train.backend", "gloo"}, t), Error);
  EXPECT_THROW(parse_bench_train_args({"--train.batch_size", "many"}, t), Error);
  t.train.batch_size = 0;
  EXPECT_THROW(t.validate(), Error);
  BenchCommConfig c;
  parse_bench_comm_args({"--sizes", "1K,64K", "--iters", "3", "--dtype", "bf16", "--train.backend", "mpi"},
                        c);
  EXPECT_NO_THROW(c.validate());
  EXPECT_EQ(c.dtype, CommDtype::kBf16);
  EXPECT_EQ(c.comm.backend, comm::Backend::kMpi);
  EXPECT_THROW(parse_bench_comm_args({"--dtype", "int8"}, c), Error);
}

TEST(Config, ParseSizes) {
  EXPECT_EQ(parse_sizes("1K,64K,1M,2G,7"), (std::vector<int64_t>{1024, 65536, 1 << 20, int64_t{2} << 30, 7}));
  EXPECT_EQ(parse_sizes("3k,5m"), (std::vector<int64_t>{3072, 5 << 20}));
  for (const char* bad : {"", "1K,", ",1K", "0", "-1K", "1KB", "x", "1.5M", "17G"})
    EXPECT_THROW(parse_sizes(bad), Error) << bad;
}

}  // namespace
}  // namespace wisesr::config
