#include "data/shard_set.h"

#include <algorithm>

#include "core/error.h"

namespace wisesr::data {

ShardSet::ShardSet(const std::filesystem::path& dir, const std::string& split)
    : manifest_(Manifest::load(dir)) {
  const SplitManifest& sm = manifest_.split(split);
  for (const auto& sh : sm.shards) {
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

std::string ShardSet::describe(uint64_t global_index) const {
  auto [s, i] = locate(global_index);
  return "record " + std::to_string(i) + " of '" + shards_[s]->path().filename().string() + "'";
}

}  // namespace wisesr::data
