#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "test_data.h"
#include "tools/comm_bench.h"
#include "tools/data_bench.h"
#include "tools/stats.h"
#include "tools/train_bench.h"

namespace wisesr::tools {
namespace {

TEST(Stats, Median) {
  EXPECT_DOUBLE_EQ(median({}), 0.0);
  EXPECT_DOUBLE_EQ(median({3.0}), 3.0);
  EXPECT_DOUBLE_EQ(median({5.0, 1.0, 3.0}), 3.0);
  EXPECT_DOUBLE_EQ(median({4.0, 1.0, 3.0, 2.0}), 2.5);
  EXPECT_DOUBLE_EQ(median({1.0, 100.0, 2.0, 2.0, 1000.0}), 2.0);  // outliers do not move it
}

TEST(CommBench, BusBandwidthFactorIsNcclTests) {
  EXPECT_DOUBLE_EQ(allreduce_bus_factor(1), 0.0);
  EXPECT_DOUBLE_EQ(allreduce_bus_factor(2), 1.0);
  EXPECT_DOUBLE_EQ(allreduce_bus_factor(4), 1.5);
  EXPECT_DOUBLE_EQ(allreduce_bus_factor(8), 1.75);
}

TEST(CommBench, TableNamesBackendAndBandwidths) {
  config::BenchCommConfig cfg;
  CommBenchResult r;
  r.backend = "nccl";
  r.device = "cuda:0";
  r.ranks = 8;
  r.rows.push_back({64 << 20, 16 << 20, 1000.0, 67.108864, 117.440512, 0});
  const std::string table = format_comm_bench(cfg, r);
  EXPECT_NE(table.find("backend nccl"), std::string::npos) << table;
  EXPECT_NE(table.find("busbw"), std::string::npos) << table;
  EXPECT_NE(table.find("64M"), std::string::npos) << table;
  EXPECT_NE(table.find("117.441"), std::string::npos) << table;
}

TEST(TrainBench, SummaryIsOneLine) {
  config::BenchTrainConfig cfg;
  TrainBenchResult r;
  r.device = "cuda:0";
  r.precision = "bf16";
  r.channels_last = true;
  r.img_per_s = 1234.5;
  r.step_ms = 207.4;
  r.forward_ms = 60.0;
  r.backward_ms = 120.0;
  r.optimizer_ms = 5.0;
  r.peak_mem_bytes = int64_t{3} << 30;
  const std::string line = format_train_bench(cfg, r);
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  for (const char* part :
       {"1234.5 img/s", "bf16 channels_last", "backward+sync 120.00", "peak memory 3.00 GiB"})
    EXPECT_NE(line.find(part), std::string::npos) << part << " in: " << line;
}

TEST(DataBench, TimesDecodeAndTheRecipeOnTheSameRecords) {
  testing::TempDir dir;
  testing::TinyDatasetSpec spec;
  spec.size = 32;
  testing::write_tiny_dataset(dir.path(), spec);  // 12 training records: batches repeat them
  config::BenchDataConfig cfg;
  cfg.data.dir = dir.path().string();
  cfg.train.batch_size = 5;
  cfg.batches = 3;
  cfg.warmup = 1;
  cfg.threads = 2;
  cfg.data.image_size = 24;
  cfg.json = (dir.path() / "data.json").string();
  DataBenchResult r = run_data_bench(cfg);
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.rows[0].mode, "decode");
  EXPECT_EQ(r.rows[1].mode, "keras");
  for (const auto& row : r.rows) {
    EXPECT_EQ(row.images, 15);
    EXPECT_GT(row.img_per_s, 0);
    EXPECT_DOUBLE_EQ(row.img_per_s_per_core, row.img_per_s / 2);
  }
  EXPECT_EQ(r.out_size, 24);
  EXPECT_EQ(r.stored_size, 32);
  auto j = nlohmann::json::parse(std::ifstream(cfg.json));
  EXPECT_EQ(j["threads"], 2);
  EXPECT_EQ(j["rows"].size(), 2u);
  EXPECT_NE(format_data_bench(r).find("img/s/core"), std::string::npos);
  cfg.data.dir = (dir.path() / "missing").string();
  EXPECT_THROW(run_data_bench(cfg), Error);
}

}  // namespace
}  // namespace wisesr::tools
