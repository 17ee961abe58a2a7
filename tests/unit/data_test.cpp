#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <thread>

#include "core/error.h"
#include "data/jpeg_decoder.h"
#include "data/loader.h"
#include "test_data.h"

namespace wisesr::data {
namespace {

TEST(Jpeg, DecodesWithinJpegLossOfTheSource) {
  const int s = 32;
  auto rgb = testing::test_image(1, 2, s);
  auto jpg = testing::encode_jpeg(rgb, s, s, 100);
  JpegDecoder dec;
  auto shape = dec.peek(jpg.data(), jpg.size());
  ASSERT_EQ(shape.height, 32u);
  ASSERT_EQ(shape.width, 32u);
  std::vector<uint8_t> out(s * s * 3);
  dec.decode_rgb(jpg.data(), jpg.size(), out.data(), shape);
  double err = 0;
  for (size_t i = 0; i < out.size(); ++i) err += std::abs(int(out[i]) - int(rgb[i]));
  EXPECT_LT(err / out.size(), 4.0) << "mean absolute error at q100";
  std::vector<uint8_t> garbage = {0xFF, 0xD8, 0xFF, 0x00, 1, 2, 3};
  EXPECT_THROW(dec.peek(garbage.data(), garbage.size()), Error);
}

TEST(Loader, BatchesCoverTheIndicesWithCorrectLabels) {
  testing::TempDir dir;
  testing::TinyDatasetSpec spec;
  spec.classes = 3;
  spec.train_per_class = 5;
  spec.size = 32;
  testing::write_tiny_dataset(dir.path(), spec);
  ShardSet set(dir.path(), "train");
  std::vector<uint64_t> idx = {14, 0, 3, 7, 9, 1, 2};
  for (bool drop_last : {true, false}) {
    LoaderOptions o;
    o.batch_size = 3;
    o.workers = 2;
    o.drop_last = drop_last;
    Loader loader(set, idx, o);
    EXPECT_EQ(loader.num_batches(), drop_last ? 2u : 3u);
    size_t seen = 0;
    while (auto b = loader.next()) {
      EXPECT_EQ(b->images.sizes(), torch::IntArrayRef({b->labels.size(0), 3, 32, 32}));
      for (int64_t i = 0; i < b->labels.size(0); ++i)
        EXPECT_EQ(b->labels[i].item<int64_t>(), set.label(idx[seen + i]));
      seen += b->labels.size(0);
    }
    EXPECT_EQ(seen, drop_last ? 6u : 7u);
  }
}

TEST(Loader, SameBatchesForAnyWorkerCount) {
  testing::TempDir dir;
  testing::write_tiny_dataset(dir.path(), {});
  ShardSet set(dir.path(), "train");
  std::vector<uint64_t> idx(set.size());
  std::iota(idx.begin(), idx.end(), 0);
  auto run = [&](int workers) {
    LoaderOptions o;
    o.batch_size = 4;
    o.workers = workers;
    o.transform =
        std::make_shared<BatchTransform>(AugmentOptions{}, /*train=*/true, 32);  // the paper's Keras recipe
    o.seed = 9;
    Loader loader(set, idx, o);
    std::vector<torch::Tensor> out;
    while (auto b = loader.next()) out.push_back(b->images);
    return torch::cat(out);
  };
  EXPECT_TRUE(torch::equal(run(0), run(3)));
}

TEST(Loader, CorruptRecordsAreSkippedUpToTheLimitThenAnErrorNamingShardAndRecord) {
  testing::TempDir dir;
  ShardInfo info;
  info.class_names = {"a"};
  info.image_size = 8;
  ShardWriter w(dir.path() / "train-0.h5", info);
  w.add({0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 0}, 0, {8, 8, 3}, "bad.jpg");  // CRC fine, JPEG broken
  Manifest m;
  m.classes = info.class_names;
  m.image_size = 8;
  SplitManifest sm;
  sm.records = 1;
  sm.class_counts = {1};
  sm.shards.push_back(w.finish());
  m.splits["train"] = sm;
  m.save(dir.path());
  ShardSet set(dir.path(), "train");
  LoaderOptions o;
  o.batch_size = 1;
  {
    Loader loader(set, {0}, o);  // max_bad_records 0: the first corrupt record stops the run
    try {
      loader.next();
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("record 0 of 'train-0.h5'"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("max_bad_records"), std::string::npos) << e.what();
    }
  }
  // Within the limit it is skipped: zeros, marked invalid, counted across loaders sharing the counter.
  o.max_bad_records = 1;
  o.bad_records = std::make_shared<std::atomic<int64_t>>(0);
  {
    Loader loader(set, {0}, o);
    auto b = loader.next();
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->num_invalid, 1);
    EXPECT_FALSE(b->valid[0].item<bool>());
    EXPECT_EQ(o.bad_records->load(), 1);
  }
  Loader again(set, {0}, o);  // the next epoch: a second corrupt record exceeds the limit
  EXPECT_THROW(again.next(), Error);
}

TEST(Loader, StopsCleanlyWhenDestroyedEarly) {
  testing::TempDir dir;
  testing::write_tiny_dataset(dir.path(), {});
  ShardSet set(dir.path(), "train");
  std::vector<uint64_t> idx(set.size());
  std::iota(idx.begin(), idx.end(), 0);
  for (int i = 0; i < 5; ++i) {
    LoaderOptions o;
    o.batch_size = 1;
    o.workers = 2;
    Loader loader(set, idx, o);
    loader.next();  // leave the rest unread: the destructor must not hang
  }
}

TEST(ShardSet, ChangedShardIsReportedByTheRankThatHashesIt) {
  testing::TempDir dir;
  testing::write_tiny_dataset(dir.path(), {});  // 12 training records in shards of 5: 3 shards
  ShardSet set(dir.path(), "train");
  ASSERT_EQ(set.num_shards(), 3u);
  EXPECT_GT(set.verify_checksums(0, 1, 2), 0u);
  const auto shard1 = dir.path() / Manifest::load(dir.path()).split("train").shards[1].file;
  {
    std::fstream f(shard1, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-3, std::ios::end);  // same size, other content
    f.put('\x5A');
  }
  EXPECT_NO_THROW(set.verify_checksums(0, 2, 1));  // rank 0 of 2 hashes shards 0 and 2
  try {
    set.verify_checksums(1, 2, 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(shard1.filename().string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("does not match index.json"), std::string::npos) << e.what();
  }
  std::filesystem::resize_file(shard1, std::filesystem::file_size(shard1) - 10);  // truncated
  try {
    ShardSet again(dir.path(), "train");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("changed or truncated"), std::string::npos) << e.what();
  }
}

TEST(ShardReader, ReadsContiguousShardsDirectlyFromAnyThread) {
  testing::TempDir dir;
  testing::write_tiny_dataset(dir.path(), {});
  ShardSet set(dir.path(), "train");
  ShardReader reader(dir.path() / Manifest::load(dir.path()).split("train").shards[0].file);
  EXPECT_TRUE(reader.direct());
  std::vector<std::vector<uint8_t>> serial(reader.size()), parallel(reader.size());
  for (uint64_t i = 0; i < reader.size(); ++i) reader.read(i, serial[i]);
  std::vector<std::thread> threads;
  for (uint64_t i = 0; i < reader.size(); ++i) threads.emplace_back([&, i] { reader.read(i, parallel[i]); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(serial, parallel);
  EXPECT_FALSE(reader.source_path(0).empty());  // HDF5 reopened on demand
}

}  // namespace
}  // namespace wisesr::data
