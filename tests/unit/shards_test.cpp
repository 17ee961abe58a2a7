#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "core/error.h"
#include "data/manifest.h"
#include "data/sampler.h"
#include "data/shard_reader.h"
#include "data/shard_set.h"
#include "data/shard_writer.h"
#include "test_data.h"

namespace wisesr::data {
namespace {

TEST(Shards, WriteReadRoundTrip) {
  testing::TempDir dir;
  ShardInfo info;
  info.class_names = {"cat", "dög", "emu"};  // non-ASCII survives
  info.image_size = 8;
  std::vector<std::vector<uint8_t>> records = {
      {1, 2, 3}, {}, {9, 8, 7, 6, 5}, std::vector<uint8_t>(1000, 42)};
  ShardWriter w(dir.path() / "s.h5", info);
  for (size_t i = 0; i < records.size(); ++i) {
    w.add(records[i], static_cast<int32_t>(i % 3), {8, 8, 3}, "path/" + std::to_string(i) + "é.jpg");
  }
  auto summary = w.finish();
  EXPECT_EQ(summary.records, records.size());
  EXPECT_GT(summary.bytes, 0u);

  ShardReader r(dir.path() / "s.h5");
  ASSERT_EQ(r.size(), records.size());
  EXPECT_EQ(r.info().class_names, info.class_names);
  EXPECT_EQ(r.info().storage, "jpeg");
  EXPECT_EQ(r.info().image_size, 8);
  std::vector<uint8_t> out;
  for (size_t i = 0; i < records.size(); ++i) {
    r.read(i, out);
    EXPECT_EQ(out, records[i]) << i;
    EXPECT_EQ(r.label(i), static_cast<int32_t>(i % 3));
    EXPECT_EQ(r.shape(i).height, 8u);
    EXPECT_EQ(r.source_path(i), "path/" + std::to_string(i) + "é.jpg");
  }
}

TEST(Shards, WriterRejectsBadLabelsAndLeavesNothingBehind) {
  testing::TempDir dir;
  ShardInfo info;
  info.class_names = {"a"};
  {
    ShardWriter w(dir.path() / "s.h5", info);
    EXPECT_THROW(w.add({1}, 1, {1, 1, 3}, "x"), Error);
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(Shards, ManifestCountsMatchShards) {
  testing::TempDir dir;
  testing::TinyDatasetSpec spec;
  spec.classes = 3;
  spec.train_per_class = 4;
  spec.val_per_class = 2;
  spec.shard_records = 5;
  testing::write_tiny_dataset(dir.path(), spec);
  Manifest m = Manifest::load(dir.path());
  EXPECT_EQ(m.split("train").records, 12u);
  EXPECT_EQ(m.split("train").shards.size(), 3u);  // 5 + 5 + 2
  EXPECT_EQ(m.split("val").records, 6u);
  EXPECT_THROW(m.split("test"), Error);
  ShardSet set(dir.path(), "train");
  ASSERT_EQ(set.size(), 12u);
  std::vector<uint64_t> counts(3, 0);
  for (uint64_t i = 0; i < set.size(); ++i) counts[set.label(i)]++;
  EXPECT_EQ(counts, m.split("train").class_counts);
}

TEST(Shards, CorruptionIsDetectedAndNamed) {
  testing::TempDir dir;
  testing::write_tiny_dataset(dir.path(), {});
  const auto shard = dir.path() / "train-0.h5";
  std::vector<uint8_t> rec;
  uint64_t last = 0;
  {  // closed before the file is modified (HDF5 caches raw data of open files)
    ShardReader clean(shard);
    last = clean.size() - 1;
    clean.read(last, rec);
  }
  // Flip one byte inside the last record's payload; the CRC must catch it.
  std::string bytes;
  {
    std::ifstream in(shard, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  // The tail of a record is entropy-coded image data, unique to it (the JPEG headers repeat).
  auto pos = bytes.find(std::string(reinterpret_cast<char*>(rec.data()) + rec.size() - 40, 32));
  ASSERT_NE(pos, std::string::npos);
  bytes[pos + 5] ^= 0x5a;
  std::ofstream(shard, std::ios::binary | std::ios::trunc) << bytes;
  ShardReader flipped(shard);
  try {
    flipped.read(last, rec);
    FAIL() << "flipped byte not detected";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train-0.h5"), std::string::npos);
  }
  // Truncated file: a clear error naming it, not a crash.
  std::filesystem::resize_file(shard, bytes.size() / 2);
  EXPECT_THROW(ShardReader{shard}, Error);
  // Not HDF5 at all.
  std::ofstream(dir.path() / "junk.h5") << "not hdf5";
  EXPECT_THROW(ShardReader{dir.path() / "junk.h5"}, Error);
  EXPECT_THROW(ShardReader{dir.path() / "missing.h5"}, Error);
}

TEST(Shards, MissingOrMalformedManifest) {
  testing::TempDir dir;
  EXPECT_THROW(Manifest::load(dir.path()), Error);
  std::ofstream(dir.path() / "index.json") << "{ not json";
  EXPECT_THROW(Manifest::load(dir.path()), Error);
}

using testing::error_of;  // tests/support/test_data.h

// A split named by --data.train_split / --data.val_split that the dataset lacks used to disable
// validation silently: it is an error naming the split and the splits there are.
TEST(Shards, AMissingSplitIsNamedWithTheSplitsThereAre) {
  testing::TempDir dir;
  testing::write_tiny_dataset(dir.path(), {});
  EXPECT_EQ(error_of([&] { ShardSet(dir.path(), "nosuch"); }),
            "no split 'nosuch' in '" + dir.path().string() + "' (it has: train, val)");
  EXPECT_EQ(error_of([&] { ShardSet(dir.path(), "val"); }), "");
  Manifest m = Manifest::load(dir.path());
  EXPECT_EQ(error_of([&] { m.split("test"); }), "no split 'test' in the dataset (it has: train, val)");
}

// An empty split trains on nothing (the old message blamed the batch size), and one class trains to a
// top-1 of 1 whatever the model learns: both are refused before anything is built.
TEST(Shards, OnlyASplitWithRecordsOfTwoClassesOrMoreIsTrainable) {
  testing::TempDir dir;
  testing::TinyDatasetSpec spec;
  spec.val_per_class = 0;
  testing::write_tiny_dataset(dir.path() / "noval", spec);
  ShardSet train(dir.path() / "noval", "train"), val(dir.path() / "noval", "val");
  EXPECT_EQ(error_of([&] { check_trainable(train); }), "");
  EXPECT_EQ(error_of([&] { check_evaluable(train); }), "");
  EXPECT_EQ(error_of([&] { check_trainable(val); }), "split 'val' of '" + (dir.path() / "noval").string() +
                                                         "' is empty (0 records): nothing to train on");
  EXPECT_EQ(error_of([&] { check_evaluable(val); }), "split 'val' of '" + (dir.path() / "noval").string() +
                                                         "' is empty (0 records): nothing to evaluate");
  spec = {};
  spec.classes = 1;
  testing::write_tiny_dataset(dir.path() / "one", spec);
  EXPECT_EQ(error_of([&] { check_trainable(ShardSet(dir.path() / "one", "train")); }),
            "dataset '" + (dir.path() / "one").string() +
                "' has 1 class ('class_0'): a classifier needs at least 2 (top-1 would be 1 whatever it "
                "learns)");
}

// A binary or garbled index.json is reported by name and byte position; the parser's own message quoted
// the bytes it read. Files and directories in the wrong place are named as such.
TEST(Shards, AGarbledManifestIsNamedByPositionWithoutItsBytes) {
  testing::TempDir dir;
  const auto index = dir.path() / "index.json";
  std::ofstream(index, std::ios::binary) << std::string(
      "\x7f"
      "ELF\x02\x01\x01\0\x1b[2J\xff",
      12);
  std::string what = error_of([&] { Manifest::load(dir.path()); });
  EXPECT_EQ(what, "'" + index.string() +
                      "' is not valid JSON at byte 1 (damaged, or not written by 'wisesr prep'?)");
  std::ofstream(index, std::ios::binary | std::ios::trunc) << "{\"format\": \"wisesr\x01\"}";
  what = error_of([&] { Manifest::load(dir.path()); });
  EXPECT_NE(what.find("is not valid JSON at byte 19"), std::string::npos) << what;
  std::filesystem::remove(index);
  std::filesystem::create_directory(index);
  EXPECT_EQ(error_of([&] { Manifest::load(dir.path()); }),
            "dataset manifest '" + index.string() + "' is a directory, not a file");
  std::ofstream(dir.path() / "file") << "x";
  EXPECT_NE(error_of([&] { Manifest::load(dir.path() / "file"); }).find("is a file, not a directory"),
            std::string::npos);
}

TEST(Sampler, TrainSlicesAreDisjointEqualAndSeeded) {
  for (int world : {1, 2, 3, 4}) {
    std::set<uint64_t> seen;
    for (int r = 0; r < world; ++r) {
      auto idx = train_indices(103, 5, 2, r, world, 4);
      EXPECT_EQ(idx.size(), 103u / (4 * world) * 4) << "same step count on every rank";
      for (auto i : idx) EXPECT_TRUE(seen.insert(i).second) << "duplicate " << i;
    }
  }
  EXPECT_EQ(train_indices(50, 1, 0, 0, 1, 5), train_indices(50, 1, 0, 0, 1, 5));
  EXPECT_NE(train_indices(50, 1, 0, 0, 1, 5), train_indices(50, 1, 1, 0, 1, 5));  // new order each epoch
}

TEST(Sampler, GlobalBatchesFollowOnePermutationWhateverTheWorldSize) {
  // Global batch s of a 4 x 3 run is the same 12 samples as global batch s of a 2 x 6 or 1 x 12 run.
  const auto perm = epoch_permutation(100, 9, 3);
  for (int world : {1, 2, 4}) {
    const uint64_t batch = 12 / world;
    for (int r = 0; r < world; ++r) {
      auto idx = train_indices(100, 9, 3, r, world, batch);
      ASSERT_EQ(idx.size(), 8 * batch);
      for (uint64_t s = 0; s < 8; ++s)
        for (uint64_t k = 0; k < batch; ++k) EXPECT_EQ(idx[s * batch + k], perm[s * 12 + r * batch + k]);
    }
  }
}

TEST(Sampler, ResumeStartsAtTheNextGlobalSample) {
  // 5 steps of 2 x 4 consumed 40 samples; continuing on 4 x 3 reads perm[40...] with floor(60/12) steps.
  const auto perm = epoch_permutation(100, 2, 0);
  EXPECT_EQ(train_steps(100, 4, 3, 40), 5u);
  for (int r = 0; r < 4; ++r) {
    auto idx = train_indices(100, 2, 0, r, 4, 3, 40);
    ASSERT_EQ(idx.size(), 15u);
    EXPECT_EQ(idx[0], perm[40 + 3 * r]);
    EXPECT_EQ(idx[3], perm[52 + 3 * r]);
  }
  EXPECT_EQ(train_steps(100, 4, 3, 100), 0u);
  EXPECT_EQ(train_steps(100, 4, 3, 130), 0u);
}

TEST(Sampler, EvalCoversEveryRecordExactlyOnce) {
  for (int world : {1, 2, 3, 4, 8}) {
    std::vector<int> hits(7, 0);
    for (int r = 0; r < world; ++r)
      for (auto i : eval_indices(7, r, world)) hits[i]++;
    for (int h : hits) EXPECT_EQ(h, 1) << world;
  }
}

}  // namespace
}  // namespace wisesr::data
