#pragma once
// The options of the dataset-preparation subcommands (`wisesr synth`, `prep`, `verify`): plain structs
// with defaults and validate(). Each belongs to one subcommand only, so it is spelled without a section
// (--size, --out, ...); config/cli.cpp parses them like every other option.
//
// Usage: prep::PrepOptions o;  o.input = "images";  o.out = "shards";  o.validate();  prep::run_prep(o);

#include <array>
#include <cstdint>
#include <string>

#include "core/enum.h"

namespace wisesr::prep {

/// How `wisesr prep` reads its inputs: as the options give them (--input/--list, --val-*), or a real
/// dataset's on-disk layout under --input ROOT, resolved into the same train/val sources (layouts.h).
enum class Layout { kNone, kImagenet, kMit67, kIntel, kFolders };
constexpr auto enum_names(Layout) {
  return std::array{EnumName{Layout::kNone, "none"}, EnumName{Layout::kImagenet, "imagenet"},
                    EnumName{Layout::kMit67, "mit67"}, EnumName{Layout::kIntel, "intel"},
                    EnumName{Layout::kFolders, "folders"}};
}

/// `wisesr synth`.
struct SynthOptions {
  std::string out;
  int classes = 8;
  int per_class = 100;
  int size = 128;
  uint64_t seed = 1;
  std::string format = "jpeg";   // jpeg | png
  std::string task = "spatial";  // spatial (label = layout) | texture (label = pattern, anywhere) | center
  void validate() const;
};

/// `wisesr prep`.
struct PrepOptions {
  // A shard is assembled in memory before it is written: these bound that memory.
  static constexpr int64_t kMaxShardRecords = 1000000;
  static constexpr double kMaxShardMb = 16384;

  Layout layout = Layout::kNone;  // kNone: the sources below; otherwise `input` is the dataset's ROOT
  std::string input;              // class-folder tree (root/<class>/.../<image>)
  std::string list;               // or: list file "path<TAB>label" / "path,label"
  std::string root;               // base of relative list paths (default: the list file's directory)
  std::string val_input;          // separate validation tree ...
  std::string val_list;           // ... or list; otherwise --val-fraction of the training source
  std::string class_index;        // one class name per line: fixes the class order
  std::string out;
  int size = 224;
  std::string resize = "squash";  // squash | center-crop | short-side (the manifest's size_policy)
  std::string storage = "jpeg";   // jpeg | raw (the manifest's storage)
  double val_fraction = 0.2;
  uint64_t seed = 1;
  int quality = 90;
  int64_t shard_records = 0;  // records per shard; 0 = by --shard-mb
  double shard_mb = 256;      // payload MiB per shard (when --shard-records is 0)
  int threads = 0;
  bool strict = false;
  bool dry_run = false;
  void validate() const;
};

/// `wisesr verify`.
struct VerifyOptions {
  std::string dir;
  int threads = 0;
  void validate() const;
};

}  // namespace wisesr::prep
