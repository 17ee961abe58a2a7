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

/// One input before its label is an index: the file, its path as stored, its class name (or, in a list
/// with --class-index, a 0-based index as text).
struct LabeledInput {
  std::string file, rel, label;
};

/// Where the inputs are, resolved from the options (--input/--list/--val-*) or from a dataset layout
/// (layouts.h): what collect_sources() then labels, de-duplicates, splits and orders.
struct ResolvedInputs {
  std::vector<LabeledInput> train, val;
  bool separate_val = false;                                 // false: --val-fraction of train
  std::vector<std::string> classes;                          // the class order
  std::string train_origin, val_origin;                      // named in errors ("'DIR'", "list 'F'")
  std::vector<std::pair<std::string, std::string>> skipped;  // rel, reason: found unusable while resolving
};

/// Collect, label, split and order every input. Throws (naming the file) on a missing directory or
/// list, an unknown label, or a class folder absent from the class index.
SourceSet collect_sources(const PrepOptions& cfg);

/// Every file below root/<class>/ (recursively, sorted; hidden entries skipped), labelled with the class
/// folder's name, rel relative to root; `folders` gets the sorted class folder names. Throws when root is
/// not a directory or has no class folder.
std::vector<LabeledInput> scan_class_tree(const std::string& root, std::vector<std::string>& folders);

/// One class name per line ('#' comments and blank lines skipped); throws on a repeated or no name.
std::vector<std::string> read_class_index(const std::string& file);

/// 0..n-1 in a seeded pseudo-random order (a hash sort: portable, unlike std::shuffle's distributions).
std::vector<size_t> hashed_order(size_t n, uint64_t seed);

}  // namespace wisesr::prep
