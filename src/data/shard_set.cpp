#include "data/shard_set.h"

#include <algorithm>

#include "core/error.h"
#include "core/fs.h"
#include "core/sha256.h"
#include "core/strings.h"
#include "core/thread_pool.h"

namespace wisesr::data {

namespace {

std::string split_names(const Manifest& m) {
  std::vector<std::string> names;
  for (const auto& [name, s] : m.splits) names.push_back(name);
  return names.empty() ? "no splits" : join(names);
}

}  // namespace

ShardSet::ShardSet(const std::filesystem::path& dir, const std::string& split)
    : dir_(dir), split_(split), manifest_(Manifest::load(dir)) {
  WISESR_CHECK(manifest_.splits.count(split), "no split '", split, "' in '", dir.string(),
               "' (it has: ", split_names(manifest_), ")");
  const SplitManifest& sm = manifest_.split(split);
  fs::raise_open_file_limit();  // one descriptor per shard
  for (const auto& sh : sm.shards) {
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(dir / sh.file, ec);
    WISESR_CHECK(!ec, "shard '", (dir / sh.file).string(), "' listed in index.json is missing (",
                 ec.message(), ")");
    WISESR_CHECK(sh.bytes == 0 || bytes == sh.bytes, "shard '", (dir / sh.file).string(), "' is ", bytes,
                 " bytes but the manifest says ", sh.bytes, " (changed or truncated since prep?)");
    auto reader = std::make_unique<ShardReader>(dir / sh.file);
    WISESR_CHECK(reader->size() == sh.records, "shard '", (dir / sh.file).string(), "' holds ",
                 reader->size(), " records but the manifest says ", sh.records, " (changed since prep?)");
    WISESR_CHECK(reader->info().class_names == manifest_.classes, "shard '", (dir / sh.file).string(),
                 "' lists other classes than the manifest");
    starts_.push_back(total_);
    total_ += reader->size();
    shards_.push_back(std::move(reader));
  }
  WISESR_CHECK(total_ == sm.records, "split '", split, "' of '", dir.string(), "' holds ", total_,
               " records but the manifest says ", sm.records);
}

std::pair<size_t, uint64_t> ShardSet::locate(uint64_t global_index) const {
  WISESR_CHECK(global_index < total_, "record ", global_index, " out of range (", total_, " records)");
  auto it = std::upper_bound(starts_.begin(), starts_.end(), global_index);
  size_t shard = static_cast<size_t>(it - starts_.begin()) - 1;
  return {shard, global_index - starts_[shard]};
}

int32_t ShardSet::label(uint64_t global_index) const {
  auto [s, i] = locate(global_index);
  return shards_[s]->label(i);
}

RecordShape ShardSet::shape(uint64_t global_index) const {
  auto [s, i] = locate(global_index);
  return shards_[s]->shape(i);
}

void ShardSet::read(uint64_t global_index, std::vector<uint8_t>& out) const {
  auto [s, i] = locate(global_index);
  shards_[s]->read(i, out, /*verify=*/true);
}

uint64_t ShardSet::verify_checksums(int rank, int world, size_t threads) const {
  const auto& shards = manifest_.split(split_).shards;
  std::vector<size_t> mine;
  for (size_t i = static_cast<size_t>(rank); i < shards.size();
       i += static_cast<size_t>(std::max(1, world))) {
    mine.push_back(i);
  }
  std::vector<std::string> actual(mine.size());
  ThreadPool pool(threads > 0 ? threads - 1 : 0);
  pool.parallel_for(mine.size(), [&](size_t k) { actual[k] = sha256_file(dir_ / shards[mine[k]].file); });
  uint64_t bytes = 0;
  for (size_t k = 0; k < mine.size(); ++k) {
    const auto& sh = shards[mine[k]];
    WISESR_CHECK(sh.sha256.empty() || actual[k] == sh.sha256, "shard '", (dir_ / sh.file).string(),
                 "' does not match index.json (SHA-256 ", actual[k].substr(0, 12), "..., expected ",
                 sh.sha256.substr(0, 12), "...): changed or corrupted since prep; run 'wisesr verify ",
                 dir_.string(), "'");
    bytes += sh.bytes;
  }
  return bytes;
}

std::string ShardSet::describe(uint64_t global_index) const {
  auto [s, i] = locate(global_index);
  return "record " + std::to_string(i) + " of '" + shards_[s]->path().filename().string() + "'";
}

void check_trainable(const ShardSet& set) {
  WISESR_CHECK(set.size() > 0, "split '", set.split(), "' of '", set.dir().string(),
               "' is empty (0 records): nothing to train on");
  const auto& classes = set.manifest().classes;
  WISESR_CHECK(classes.size() >= 2, "dataset '", set.dir().string(), "' has ", classes.size(), " class",
               classes.size() == 1 ? " ('" + classes[0] + "')" : "s",
               ": a classifier needs at least 2 (top-1 would be 1 whatever it learns)");
}

void check_evaluable(const ShardSet& set) {
  WISESR_CHECK(set.size() > 0, "split '", set.split(), "' of '", set.dir().string(),
               "' is empty (0 records): nothing to evaluate");
}

}  // namespace wisesr::data
