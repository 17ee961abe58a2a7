// `wisesr plan` (tools/plan.h): the scaling model against tests/bench/scaling_model.py, a tiny config's
// figures against hand-computed ones, the sources of figures (measured vs assumed), the inputs that must
// be refused, and every shipped config (configs/imagenet/*, configs/quickstart.cfg) through the real parser.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "config/cli.h"
#include "core/error.h"
#include "test_data.h"
#include "tools/plan.h"

namespace wisesr::tools {
namespace {

namespace stdfs = std::filesystem;
using testing::error_of;
using testing::TempDir;

constexpr int64_t kMiB = 1 << 20;

void write(const stdfs::path& p, const std::string& text) { std::ofstream(p) << text; }

// The tiny config of the hand-computed test: 1000 training images, batch 8 per GPU, 2 epochs.
constexpr const char* kTinyConfig = R"([model]
backbone = resnet-tiny
[data]
image_size = 64
[train]
batch_size = 8
epochs = 2
[plan]
train_images = 1000
val_images = 100
classes = 10
image_kb = 2
)";

// A bench train JSON as `wisesr bench train --json` writes it (the keys the plan reads).
nlohmann::json train_bench(int64_t params) {
  return {{"model", "resnet-tiny"},
          {"head", "wise"},
          {"image_size", 64},
          {"batch", 8},
          {"params", params},
          {"step_ms", 10.0},
          {"backward_ms", 6.0},
          {"forward_ms", 3.0},
          {"optimizer_ms", 1.0},
          {"peak_mem_bytes", 0},
          {"device", "cuda:0"},
          {"precision", "bf16"},
          {"ranks", 1},
          {"classes", 10},
          {"img_per_s", 800.0}};
}

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = (dir_.path() / "tiny.cfg").string();
    write(config_, kTinyConfig);
    facts_.params = 1000000;
    facts_.buffer_bytes = 4000;
    facts_.gflops = 0.5;
  }
  config::PlanConfig parse(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--config", config_, "--gpus", "1,2"};
    args.insert(args.end(), extra.begin(), extra.end());
    config::PlanConfig cfg;
    config::parse_plan_args(args, cfg);
    cfg.validate();
    return cfg;
  }
  std::string bench_file(const nlohmann::json& j, const std::string& name = "train.json") {
    const auto p = dir_.path() / name;
    write(p, j.dump());
    return p.string();
  }

  TempDir dir_;
  std::string config_;
  ModelFacts facts_;
};

TEST(PlanModel, BucketsAreScalingModelPys) {
  EXPECT_EQ(model_buckets(60 * kMiB, kMiB, 25 * kMiB),
            (std::vector<int64_t>{kMiB, 25 * kMiB, 25 * kMiB, 9 * kMiB}));
  EXPECT_EQ(model_buckets(kMiB / 2, kMiB, 25 * kMiB), (std::vector<int64_t>{kMiB / 2}));
  EXPECT_TRUE(model_buckets(0, kMiB, 25 * kMiB).empty());
}

// docs/scaling.md's illustration: ResNet-50 (102 MB of gradients), 190 ms of backward.
TEST(PlanModel, ExposedCommOfTheDocsTable) {
  const int64_t grads = 25557032LL * 4;
  EXPECT_EQ(exposed_comm_ms(grads, 190, 1, 360, 10), 0.0);
  EXPECT_NEAR(exposed_comm_ms(grads, 190, 8, 360, 10), 0.12, 0.005);
  EXPECT_NEAR(exposed_comm_ms(grads, 190, 64, 45, 10), 1.00, 0.01);
  EXPECT_NEAR(exposed_comm_ms(grads, 190, 512, 45, 10), 1.01, 0.01);
  // A backward too short to hide anything: every bucket's all-reduce is exposed but the overlap of the
  // first ones with it.
  EXPECT_GT(exposed_comm_ms(grads, 0.1, 64, 45, 10), 2.0);
}

// The C++ port against tests/bench/scaling_model.py on the same inputs (skips without python3).
TEST(PlanModel, SameStepTimeAsScalingModelPy) {
  struct Case {
    int64_t params;
    double backward_ms;
    int gpus;
    double busbw, latency_us;
  };
  const std::vector<Case> cases = {{25557032, 190, 8, 360, 10},   {25557032, 190, 512, 45, 10},
                                   {25557032, 4, 512, 45, 10},    {20063848, 30, 64, 45, 25},
                                   {311386, 17.3, 2, 5.78, 1.44}, {1000000, 6, 2, 360, 10},
                                   {143000000, 50, 16, 45, 10}};
  std::string script =
      "import sys; sys.path.insert(0, '" WISESR_SOURCE_DIR "/tests/bench'); import scaling_model as m\n";
  for (const auto& c : cases) {
    char line[256];
    std::snprintf(line, sizeof(line), "print(repr(m.exposed_comm_ms(%lld, %.17g, %d, %.17g, %.17g)))\n",
                  static_cast<long long>(c.params * 4), c.backward_ms, c.gpus, c.busbw, c.latency_us);
    script += line;
  }
  TempDir dir;
  write(dir.path() / "cmp.py", script);
  const std::string cmd = "python3 " + (dir.path() / "cmp.py").string() + " 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  ASSERT_TRUE(pipe);
  std::vector<double> py;
  char buf[128];
  while (std::fgets(buf, sizeof(buf), pipe.get())) py.push_back(std::stod(buf));
  if (py.empty()) GTEST_SKIP() << "python3 unavailable";
  ASSERT_EQ(py.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const double ours = exposed_comm_ms(c.params * 4, c.backward_ms, c.gpus, c.busbw, c.latency_us);
    EXPECT_NEAR(ours, py[i], 1e-9 * std::max(1.0, py[i])) << "case " << i;
    EXPECT_NEAR(100.0 + ours, 100.0 + py[i], 1e-9) << "step = step(1) + exposed, case " << i;
  }
}

TEST(PlanModel, GpuCounts) {
  EXPECT_EQ(parse_gpu_counts("8,64,512"), (std::vector<int>{8, 64, 512}));
  EXPECT_EQ(parse_gpu_counts(" 1 , 2"), (std::vector<int>{1, 2}));
  for (const char* bad : {"0", "8,0", "-8", "x", "8,,64", "", "99999999"})
    EXPECT_NE(error_of([&] { parse_gpu_counts(bad); }).find("--gpus"), std::string::npos) << bad;
}

// Every figure of the tiny config with a measured bench, by hand (Note [Plan model] in tools/plan.h).
TEST_F(PlanTest, FiguresMatchHandComputedOnes) {
  const auto bench = bench_file(train_bench(facts_.params));
  const Plan p = compute_plan(resolve_inputs(parse({"--bench", bench}), facts_), {1, 2});
  ASSERT_EQ(p.rows.size(), 2u);
  const PlanRow& one = p.rows[0];
  const PlanRow& two = p.rows[1];
  EXPECT_EQ(one.global_batch, 8);
  EXPECT_EQ(two.global_batch, 16);
  EXPECT_EQ(one.steps_per_epoch, 125);  // 1000 / 8
  EXPECT_EQ(two.steps_per_epoch, 62);   // 1000 / 16, the last partial batch dropped
  EXPECT_EQ(two.steps, 124);
  EXPECT_DOUBLE_EQ(one.step_ms, 10.0);  // the measurement itself: same batch, one GPU
  EXPECT_DOUBLE_EQ(one.exposed_ms, 0.0);
  // 4,000,000 bytes of gradients: a 1 MiB bucket, then the remaining 2,951,424 bytes. The first is
  // ready at 6 x 1048576 / 4e6 ms and done long before backward ends; the second starts when backward
  // ends (6 ms) and takes 2(2-1)/2 x 2951424 B / 360 GB/s + 10 us.
  const double last = 2951424.0 / 360e9 * 1e3 + 0.010;
  EXPECT_NEAR(two.exposed_ms, last, 1e-12);
  EXPECT_NEAR(two.step_ms, 10.0 + last, 1e-12);
  EXPECT_NEAR(two.img_per_s, 16 / (10.0 + last) * 1e3, 1e-9);
  EXPECT_NEAR(two.train_s, 124 * (10.0 + last) / 1e3, 1e-12);
  // Evaluation: 2 epochs x ceil(100 / 2) images per GPU x (3 ms forward / 8 images).
  EXPECT_NEAR(two.eval_s, 2 * 50 * 3.0 / 8 / 1e3, 1e-12);
  // Checkpoints: fp32 weights + momentum + buffers, one per epoch end, at the assumed 1 GB/s.
  EXPECT_DOUBLE_EQ(p.checkpoint_bytes, 1e6 * 8 + 4000);
  EXPECT_EQ(two.checkpoints, 2);
  EXPECT_NEAR(two.checkpoint_s, 2 * 8004000 / 1e9, 1e-12);
  EXPECT_NEAR(two.wall_s, two.train_s + two.eval_s + two.checkpoint_s, 1e-12);
  EXPECT_NEAR(two.gpu_hours, two.wall_s / 3600 * 2, 1e-12);
  EXPECT_NEAR(two.cost, two.gpu_hours * 2.5, 1e-12);
  // Memory: 12 bytes per parameter (weights, gradients in the buckets, momentum) + bf16 copies + buffers.
  EXPECT_DOUBLE_EQ(two.static_bytes, 1e6 * 14 + 4000);
  // Shards: (1000 + 100) images x 2 kB (given).
  EXPECT_DOUBLE_EQ(p.in.shard_bytes.value, 1100 * 2000.0);
  EXPECT_EQ(p.in.shard_bytes.source, Source::kGiven);
  // Decode: 8 GPUs per node at most; here all the GPUs' images on one node.
  EXPECT_NEAR(two.decode_need, two.img_per_s, 1e-9);
}

TEST_F(PlanTest, MeasuredFiguresNameTheirFileAndAssumedOnesAreMarked) {
  const auto bench = bench_file(train_bench(facts_.params));
  const Plan measured = compute_plan(resolve_inputs(parse({"--bench", bench}), facts_), {1, 2});
  EXPECT_EQ(measured.in.step_ms.source, Source::kMeasured);
  EXPECT_NE(measured.in.step_ms.from.find(bench), std::string::npos);
  EXPECT_FALSE(measured.rows[0].step_assumed);   // one GPU: nothing but the measurement
  EXPECT_TRUE(measured.rows[1].step_assumed);    // two: the assumed NVLink bandwidth enters
  EXPECT_TRUE(measured.rows[1].memory_assumed);  // no peak memory on the CPU: assumed activations
  const std::string text = format_plan(measured);
  EXPECT_NE(text.find("measured: " + bench), std::string::npos) << text;
  EXPECT_NE(text.find("assumed: "), std::string::npos) << text;

  const Plan none = compute_plan(resolve_inputs(parse(), facts_), {1, 2});
  EXPECT_EQ(none.in.step_ms.source, Source::kAssumed);
  EXPECT_TRUE(none.rows[0].step_assumed);
  EXPECT_TRUE(none.rows[0].cost_assumed);
  // 3 x 0.5 GFLOPs x 8 images at 40 TFLOPS.
  EXPECT_NEAR(none.in.step_ms.value, 3 * 0.5e9 * 8 / 40e12 * 1e3, 1e-12);
  const std::string plain = format_plan(none);
  EXPECT_NE(plain.find("step_ms"), std::string::npos);
  EXPECT_NE(plain.find("* rests on an assumed figure"), std::string::npos);
  // The [plan] figures are given; image_kb listed in `assumed` is an estimate.
  EXPECT_EQ(none.in.train_images.source, Source::kGiven);
  write(config_, std::string(kTinyConfig) + "assumed = image_kb\n");
  EXPECT_EQ(resolve_inputs(parse(), facts_).image_bytes.source, Source::kAssumed);
  // The JSON carries every input with its source.
  const auto j = nlohmann::json::parse(plan_json(measured));
  EXPECT_EQ(j["inputs"]["step_ms"]["source"], "measured");
  EXPECT_EQ(j["inputs"]["ib_busbw"]["source"], "assumed");
  EXPECT_EQ(j["rows"].size(), 2u);
}

TEST_F(PlanTest, MeasuredPeakMemoryGivesTheActivations) {
  auto j = train_bench(facts_.params);
  j["peak_mem_bytes"] = 14004000 + 8 * 1000000;  // static + 1 MB per image at batch 8
  const Plan p = compute_plan(resolve_inputs(parse({"--bench", bench_file(j)}), facts_), {1});
  EXPECT_EQ(p.in.activation_bytes.source, Source::kMeasured);
  EXPECT_DOUBLE_EQ(p.in.activation_bytes.value, 1e6);
  EXPECT_DOUBLE_EQ(p.rows[0].memory_bytes, 14004000 + 8e6);
  EXPECT_FALSE(p.rows[0].memory_assumed);
}

TEST_F(PlanTest, FixedGlobalBatchIsSplitIntoMicroBatches) {
  write(config_, std::string(kTinyConfig) + "global_batch = 1024\n");
  const auto cfg = parse({"--train.batch_size", "100"});
  const Plan p = compute_plan(resolve_inputs(cfg, facts_), {1, 8, 64, 1024});
  // 1024 per GPU in micro-batches of at most 100: 16 x 64; 128: 2 x 64; 16: 1 x 16; 1 x 1.
  EXPECT_EQ(p.rows[0].accum, 16);
  EXPECT_EQ(p.rows[0].micro_batch, 64);
  EXPECT_EQ(p.rows[1].accum, 2);
  EXPECT_EQ(p.rows[2].micro_batch, 16);
  EXPECT_EQ(p.rows[3].micro_batch, 1);
  for (const auto& r : p.rows) EXPECT_EQ(r.global_batch, 1024);
  EXPECT_NE(error_of([&] { compute_plan(resolve_inputs(cfg, facts_), {3}); }).find("not a multiple of 3"),
            std::string::npos);
}

TEST_F(PlanTest, BadInputsAreOneLineErrorsNamingTheThing) {
  auto fails = [&](const std::vector<std::string>& extra) {
    return error_of([&] { resolve_inputs(parse(extra), facts_); });
  };
  const std::string missing = (dir_.path() / "nosuch.json").string();
  EXPECT_NE(fails({"--bench", missing}).find("cannot read bench file '" + missing + "'"), std::string::npos);
  const std::string corrupt = bench_file(nlohmann::json::object(), "x.json");
  write(corrupt, "{\"step_ms\": 1,");
  EXPECT_NE(fails({"--bench", corrupt}).find("'" + corrupt + "' is not valid JSON"), std::string::npos);
  write(corrupt, "\x89PNG\r\n\x1a\n");
  EXPECT_NE(fails({"--bench", corrupt}).find("not valid JSON"), std::string::npos);
  write(corrupt, "{\"hello\": 1}");
  EXPECT_NE(fails({"--bench", corrupt}).find("is not the JSON of 'wisesr bench"), std::string::npos);
  auto other = train_bench(facts_.params);
  other["model"] = "resnet50";
  other["image_size"] = 224;
  const std::string msg = fails({"--bench", bench_file(other, "r50.json")});
  EXPECT_NE(msg.find("measured resnet50+wise at 224 px, but the config trains resnet-tiny+wise at 64 px"),
            std::string::npos)
      << msg;
  EXPECT_NE(fails({"--bench", bench_file(train_bench(42), "p.json")}).find("42 parameters"),
            std::string::npos);
  auto no_step = train_bench(facts_.params);
  no_step["step_ms"] = "fast";
  EXPECT_NE(fails({"--bench", bench_file(no_step, "s.json")}).find("'step_ms' is missing or not a number"),
            std::string::npos);
  const nlohmann::json one_rank = {{"op", "all_reduce_sum_in_place"}, {"ranks", 1}, {"rows", {}}};
  EXPECT_NE(fails({"--bench", bench_file(one_rank, "c.json")}).find("measures no bus bandwidth"),
            std::string::npos);
  const auto b = bench_file(train_bench(facts_.params));
  EXPECT_NE(fails({"--bench", b, "--bench", b}).find("are both bench train"), std::string::npos);
  for (const auto& e : {fails({"--bench", missing}), msg}) EXPECT_EQ(e.find('\n'), std::string::npos) << e;

  config::PlanConfig cfg;
  const std::string nosuch = (dir_.path() / "nosuch.cfg").string();
  EXPECT_NE(error_of([&] {
              config::parse_plan_args({"--config", nosuch, "--gpus", "8"}, cfg);
            }).find("cannot read config file '" + nosuch + "'"),
            std::string::npos);
  write(config_, std::string(kTinyConfig) + "bogus = 1\n");
  EXPECT_NE(error_of([&] { parse(); }).find("[plan]"), std::string::npos);
  write(config_, kTinyConfig);
  config::PlanConfig no_gpus;
  config::parse_plan_args({"--config", config_}, no_gpus);
  EXPECT_NE(error_of([&] { no_gpus.validate(); }).find("--gpus is required"), std::string::npos);
}

TEST_F(PlanTest, BenchMayBeRepeatedOrTakeSeveralFiles) {
  const auto a = bench_file(train_bench(facts_.params), "a.json");
  const auto b = bench_file(train_bench(facts_.params), "b.json");
  EXPECT_EQ(parse({"--bench", a, b}).bench, (std::vector<std::string>{a, b}));
  EXPECT_EQ(parse({"--bench", a, "--json", "x", "--bench=" + b}).bench, (std::vector<std::string>{a, b}));
  EXPECT_EQ(parse({"--bench", a, "--json", "x"}).json, "x");
}

// Every shipped config parses with the real parser, for `wisesr train` and for `wisesr plan`.
TEST(PlanConfigs, EveryShippedConfigParses) {
  std::vector<stdfs::path> files = {stdfs::path(WISESR_SOURCE_DIR) / "configs" / "quickstart.cfg"};
  for (const auto& e : stdfs::directory_iterator(stdfs::path(WISESR_SOURCE_DIR) / "configs" / "imagenet"))
    if (e.path().extension() == ".cfg") files.push_back(e.path());
  ASSERT_GE(files.size(), 5u);
  for (const auto& f : files) {
    SCOPED_TRACE(f.string());
    config::Config train;
    ASSERT_EQ(error_of([&] {
                config::parse_train_args({"--config", f.string(), "--data.dir", "shards"}, train);
                train.validate();
              }),
              "");
    config::PlanConfig plan;
    ASSERT_EQ(error_of([&] {
                config::parse_plan_args({"--config", f.string(), "--gpus", "8,64,512"}, plan);
                plan.validate();
              }),
              "");
    if (f.parent_path().filename() != "imagenet") continue;
    // The ImageNet recipes: a fixed global batch that 8, 64 and 512 GPUs divide, bf16, Wise-SrNet with
    // its pool written out, linear scaling from 256 with warmup, and the dataset's counts.
    EXPECT_GT(plan.plan.global_batch, 0);
    for (int n : {8, 64, 512}) EXPECT_EQ(plan.plan.global_batch % n, 0);
    EXPECT_EQ(train.runtime.precision, train::Precision::kBf16);
    EXPECT_EQ(train.model.head, "wise");
    EXPECT_EQ(train.model.pool, train.data.image_size == 224 ? 2 : 3);
    EXPECT_EQ(train.schedule.ref_batch, 256);
    EXPECT_EQ(train.schedule.warmup_epochs, 5);
    EXPECT_EQ(train.train.epochs, 90);
    EXPECT_EQ(plan.plan.train_images, 1281167);
    EXPECT_EQ(plan.plan.val_images, 50000);
    if (plan.plan.global_batch >= 8192 && train.data.image_size == 512) {
      EXPECT_EQ(train.optim.optimizer, train::OptimizerKind::kLars);
    }
  }
}

}  // namespace
}  // namespace wisesr::tools
