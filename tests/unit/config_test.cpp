#include <gtest/gtest.h>

#include <cctype>
#include <fstream>

#include "config/cli.h"
#include "core/error.h"
#include "core/limits.h"
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

TEST(Cli, AnUnsignedOptionRefusesANegativeValueInsteadOfWrapping) {
  // Boost alone reads "-1" for a uint64_t as 2^64 - 1.
  for (const char* bad : {"-1", "1e3", "", "18446744073709551616", "12x"}) {
    Config cfg;
    try {
      parse_train_args({"--train.seed", bad}, cfg);
      FAIL() << "accepted --train.seed '" << bad << "' as " << cfg.train.seed;
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("--train.seed"), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  }
  Config cfg;
  parse_train_args({"--train.seed", "18446744073709551615"}, cfg);
  EXPECT_EQ(cfg.train.seed, 18446744073709551615ull);
  testing::TempDir dir;
  EXPECT_THROW(parse_train_args({"--config", write_ini(dir.path(), "[train]\nseed = -3\n")}, cfg), Error);
  Config defaults;
  parse_train_args({}, defaults);
  EXPECT_EQ(defaults.train.seed, train::RunOptions{}.seed);
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

using testing::error_of;  // tests/support/test_data.h

// A binary given as --config (`--config /bin/ls`) is named with the position of its first non-text byte;
// the bytes themselves never reach the message. A directory is named as one (it used to be read as an
// empty config, silently).
TEST(Cli, BinaryOrDirectoryConfigIsNamedWithoutEchoingBytes) {
  testing::TempDir dir;
  const auto elf = dir.path() / "ls";
  std::ofstream(elf, std::ios::binary) << std::string(
      "\x7f"
      "ELF\x02\x01\x01\0\0\0\x03\0>\0\x01",
      15);
  Config cfg;
  std::string what = error_of([&] { parse_train_args({"--config", elf.string()}, cfg); });
  EXPECT_EQ(what, "'" + elf.string() + "' is not a text config: byte 0x7f at line 1, column 1");
  std::ofstream(elf, std::ios::binary | std::ios::trunc) << "[train]\nepochs = 1\x01\n";
  what = error_of([&] { parse_train_args({"--config", elf.string()}, cfg); });
  EXPECT_EQ(what, "'" + elf.string() + "' is not a text config: byte 0x01 at line 2, column 11");
  std::ofstream(elf, std::ios::binary | std::ios::trunc) << "[train]\nepochs = 1 # d\xf6g\n";  // Latin-1
  what = error_of([&] { parse_train_args({"--config", elf.string()}, cfg); });
  EXPECT_EQ(what, "'" + elf.string() + "' is not a text config: byte 0xf6 at line 2, column 15");
  std::ofstream(elf, std::ios::binary | std::ios::trunc) << "[train]\r\nepochs = 2 # dög\r\n";  // UTF-8, CRLF
  EXPECT_EQ(error_of([&] { parse_train_args({"--config", elf.string()}, cfg); }), "");
  EXPECT_EQ(cfg.train.epochs, 2);
  what = error_of([&] { parse_train_args({"--config", dir.path().string()}, cfg); });
  EXPECT_EQ(what, "config file '" + dir.path().string() + "' is a directory, not a file");
}

TEST(Cli, ADirectoryGivenForACheckpointIsNamedAsOne) {
  testing::TempDir dir;
  const std::string run = dir.path().string();
  EvalConfig e;
  parse_eval_args({"--checkpoint", run, "--data.dir", "d"}, e);
  EXPECT_EQ(error_of([&] { e.validate(); }), "--checkpoint '" + run + "' is a directory, not a file");
  ExportConfig x;
  parse_export_args({"--checkpoint", run, "--out", "x.pt"}, x);
  EXPECT_EQ(error_of([&] { x.validate(); }), "--checkpoint '" + run + "' is a directory, not a file");
  std::filesystem::create_directories(dir.path() / "checkpoints");
  std::ofstream(dir.path() / "checkpoints" / "last.pt") << "x";
  EXPECT_NE(error_of([&] { x.validate(); }).find("(did you mean '" + run + "/checkpoints/last.pt'?)"),
            std::string::npos);
  Config t;
  parse_train_args({"--data.dir", "d", "--train.resume", run}, t);
  EXPECT_NE(error_of([&] { t.validate(); }).find("--train.resume '" + run + "' is a directory, not a file"),
            std::string::npos);
}

// Every option that sizes threads or buffers has a bound that a real cluster never reaches and that
// --help states: --data.workers 100000 used to start 19k threads before the watchdog blamed a peer.
TEST(Config, ThreadAndBufferOptionsAreBounded) {
  const int threads = max_option_threads();
  EXPECT_GE(threads, 256);
  const std::string at_most = "[0, " + std::to_string(threads) + "] (max(256, 4 x ";
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"--data.workers", "100000"}, "--data.workers must be in " + at_most},
      {{"--train.threads", "100000"}, "--train.threads must be in " + at_most},
      {{"--data.prefetch", "65"}, "--data.prefetch must be in [1, 64], got 65"},
      {{"--data.prefetch", "0"}, "--data.prefetch must be in [1, 64], got 0"},
      {{"--train.batch_size", "65537"}, "--train.batch_size must be in [1, 65536] (per rank), got 65537"},
      {{"--train.accum_steps", "4097"}, "--train.accum_steps must be in [1, 4096], got 4097"},
      {{"--train.bucket_mb", "0"}, "--train.bucket_mb must be in [1/1024, 16384] (MiB), got 0"},
      {{"--train.bucket_mb", "1e30"}, "--train.bucket_mb must be in [1/1024, 16384] (MiB), got 1e+30"},
      {{"--train.first_bucket_mb", "20000"}, "--train.first_bucket_mb must be in [1/1024, 16384] (MiB)"},
      {{"--data.image_size", "4"}, "--data.image_size must be 0 (the shards' size) or in [8, 8192], got 4"},
      {{"--data.image_size", "9000"}, "--data.image_size must be 0 (the shards' size) or in [8, 8192]"},
      {{"--data.val_split", ""}, "--data.val_split must not be empty"},
  };
  for (const auto& [args, message] : bad) {
    Config cfg;
    std::vector<std::string> argv = {"--data.dir", "d"};
    argv.insert(argv.end(), args.begin(), args.end());
    parse_train_args(argv, cfg);
    EXPECT_NE(error_of([&] { cfg.validate(); }).find(message), std::string::npos)
        << args[0] << " " << args[1] << ": " << error_of([&] { cfg.validate(); });
  }
  Config top;  // the bounds themselves are accepted
  parse_train_args({"--data.dir", "d", "--data.workers", std::to_string(threads), "--train.threads",
                    std::to_string(threads), "--data.prefetch", "64", "--train.batch_size", "65536",
                    "--train.accum_steps", "4096", "--train.bucket_mb", "16384", "--data.image_size", "8192"},
                   top);
  EXPECT_EQ(error_of([&] { top.validate(); }), "");
  BenchDataConfig d;
  parse_bench_data_args({"--data.dir", "d", "--threads", "100000"}, d);
  EXPECT_NE(error_of([&] { d.validate(); }).find("--threads must be in " + at_most), std::string::npos);
  // --help states the bounds.
  Config help;
  std::string text;  // with the line wrapping undone
  for (const char c : parse_train_args({"--help"}, help).help_text)
    if (!std::isspace(static_cast<unsigned char>(c)) || (!text.empty() && text.back() != ' '))
      text += std::isspace(static_cast<unsigned char>(c)) ? ' ' : c;
  for (const char* bound : {"at most max(256, 4 x hardware threads)", "in [1, 64]", "in [1, 65536]",
                            "in [1, 4096]", "in [1/1024, 16384]", "in [8, 8192]"})
    EXPECT_NE(text.find(bound), std::string::npos) << bound;
}

TEST(Cli, PrepOptionsAreBoundedAndTheOutputApartFromTheInput) {
  testing::TempDir dir;
  const std::string in = (dir.path() / "images").string(), out = (dir.path() / "shards").string();
  std::filesystem::create_directories(in);
  auto prep_error = [](const std::vector<std::string>& args) {
    prep::PrepOptions p;
    return error_of([&] {
      parse_prep_args(args, p);
      p.validate();
    });
  };
  EXPECT_EQ(prep_error({"--input", in, "--out", out}), "");
  // An unsigned option used to read "-1" as 2^64 - 1: one shard of everything.
  EXPECT_EQ(prep_error({"--input", in, "--out", out, "--shard-records", "-1"}),
            "--shard-records must be in [0, 1000000] (0 = by --shard-mb), got -1");
  EXPECT_NE(prep_error({"--input", in, "--out", out, "--shard-records", "1000001"}).find("--shard-records"),
            std::string::npos);
  EXPECT_NE(
      prep_error({"--input", in, "--out", out, "--shard-mb", "1e9"}).find("--shard-mb must be in (0, 16384]"),
      std::string::npos);
  EXPECT_NE(
      prep_error({"--input", in, "--out", out, "--threads", "100000"}).find("--threads must be in [0, "),
      std::string::npos);
  EXPECT_EQ(prep_error({"--input", in, "--out", in}),
            "--out '" + in + "' is --input '" + in +
                "': the shards would be read back as inputs (write them outside it)");
  EXPECT_NE(prep_error({"--input", in + "/", "--out", in + "/."}).find("' is --input '"), std::string::npos);
  EXPECT_NE(prep_error({"--input", in, "--out", in + "/shards"}).find("lies inside --input"),
            std::string::npos);
  EXPECT_NE(prep_error({"--input", in, "--out", in + "/../images/x"}).find("lies inside --input"),
            std::string::npos);
  EXPECT_NE(prep_error({"--input", out + "/images", "--out", out}).find("lies inside --out"),
            std::string::npos);
  EXPECT_NE(prep_error({"--list", "l.tsv", "--val-input", in, "--out", in + "/v"}).find("--val-input"),
            std::string::npos);
  EXPECT_EQ(prep_error({"--input", in, "--out", in + "_shards"}), "");  // a sibling sharing a prefix
  EXPECT_EQ(prep_error({"--list", in, "--out", out}), "--list '" + in + "' is a directory, not a file");
  prep::SynthOptions s;
  parse_synth_args({"--out", out, "--per-class", "2000000"}, s);
  EXPECT_NE(error_of([&] { s.validate(); }).find("--per-class must be in [1, 1000000]"), std::string::npos);
}

TEST(Config, ParseSizes) {
  EXPECT_EQ(parse_sizes("1K,64K,1M,2G,7"), (std::vector<int64_t>{1024, 65536, 1 << 20, int64_t{2} << 30, 7}));
  EXPECT_EQ(parse_sizes("3k,5m"), (std::vector<int64_t>{3072, 5 << 20}));
  for (const char* bad : {"", "1K,", ",1K", "0", "-1K", "1KB", "x", "1.5M", "17G"})
    EXPECT_THROW(parse_sizes(bad), Error) << bad;
}

}  // namespace
}  // namespace wisesr::config
