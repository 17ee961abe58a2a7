#pragma once
// Where `wisesr prep` gets its images: class-folder trees or list files, a class order, and the
// train/val split. Everything here is deterministic in (inputs, seed).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "prep_options.h"

namespace wisesr::prep {

struct Source {
  std::string file;      // path to open
  std::string rel_path;  // as stored in the shard (relative to the tree root / as written in the list)
  int32_t label = 0;
};

struct SourceSet {
  std::vector<std::string> classes;
  std::vector<Source> train, val;                            // in record order (seeded shuffle)
  std::vector<std::pair<std::string, std::string>> skipped;  // rel_path, reason (duplicates, bad lines)
  std::vector<std::string> empty_classes;
};

/// Collect, label, split and order every input. Throws (naming the file) on a missing directory or
/// list, an unknown label, or a class folder absent from the class index.
SourceSet collect_sources(const PrepOptions& cfg);

/// 0..n-1 in a seeded pseudo-random order (a hash sort: portable, unlike std::shuffle's distributions).
std::vector<size_t> hashed_order(size_t n, uint64_t seed);

}  // namespace wisesr::prep
