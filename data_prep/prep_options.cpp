#include "prep_options.h"

#include <filesystem>

#include "core/enum.h"
#include "core/error.h"
#include "core/limits.h"

namespace wisesr::prep {
namespace {

namespace stdfs = std::filesystem;

// `path` as an absolute path without "..", symbolic links resolved as far as it exists.
stdfs::path resolved(const std::string& path) {
  std::error_code ec;
  stdfs::path p = stdfs::weakly_canonical(stdfs::absolute(path), ec);
  if (ec) p = stdfs::absolute(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();  // "dir/" -> "dir"
  return p;
}

// Whether `inner` is `outer` or lies below it.
bool within(const stdfs::path& inner, const stdfs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i)
    if (i == inner.end() || *i != *o) return false;
  return true;
}

// The output must not overlap an input tree: shards written inside it would be read back as inputs
// (skipped as undecodable, or a class folder of their own), and an input inside the output would be
// mixed with shards and removed with them.
void check_apart(const std::string& out, const char* option, const std::string& input) {
  if (input.empty() || out.empty()) return;
  const stdfs::path o = resolved(out), i = resolved(input);
  WISESR_CHECK(!within(o, i), "--out '", out, "' ", o == i ? "is" : "lies inside", " ", option, " '", input,
               "': the shards would be read back as inputs (write them outside it)");
  WISESR_CHECK(!within(i, o), option, " '", input, "' lies inside --out '", out,
               "' (write the shards to a directory of their own)");
}

void check_not_a_directory(const char* option, const std::string& path) {
  std::error_code ec;
  WISESR_CHECK(path.empty() || !stdfs::is_directory(path, ec), option, " '", path,
               "' is a directory, not a file");
}

}  // namespace

void SynthOptions::validate() const {
  WISESR_CHECK(classes >= 2 && classes <= 24, "--classes must be in [2, 24], got ", classes);
  WISESR_CHECK(per_class >= 1 && per_class <= 1000000, "--per-class must be in [1, 1000000], got ",
               per_class);
  WISESR_CHECK(size >= 32 && size <= 4096, "--size must be in [32, 4096], got ", size);
  check_choice("--format", format, {"jpeg", "png"});
  check_choice("--task", task, {"spatial", "texture", "center"});
  WISESR_CHECK(task == "spatial" || classes <= 8, "--task ", task, " has 8 patterns: --classes must be <= 8");
}

void PrepOptions::validate() const {
  if (layout != Layout::kNone) {
    WISESR_CHECK(!input.empty(), "--layout ", to_string(layout),
                 " needs --input ROOT (the dataset's folder)");
    WISESR_CHECK(list.empty() && root.empty() && val_input.empty() && val_list.empty(), "--layout ",
                 to_string(layout),
                 " finds the train and val sources under --input ROOT itself: drop --list, --root, "
                 "--val-input and --val-list");
  }
  WISESR_CHECK(input.empty() != list.empty(), "give exactly one training source: --input DIR or --list FILE");
  WISESR_CHECK(val_input.empty() || val_list.empty(), "give at most one of --val-input and --val-list");
  check_choice("--resize", resize, {"squash", "center-crop", "short-side"});
  check_choice("--storage", storage, {"jpeg", "raw"});
  WISESR_CHECK(shard_records >= 0 && shard_records <= kMaxShardRecords, "--shard-records must be in [0, ",
               kMaxShardRecords, "] (0 = by --shard-mb), got ", shard_records);
  WISESR_CHECK(shard_records > 0 || (shard_mb > 0 && shard_mb <= kMaxShardMb), "--shard-mb must be in (0, ",
               kMaxShardMb, "] (or set --shard-records), got ", shard_mb);
  WISESR_CHECK(size >= 8 && size <= 8192, "--size must be in [8, 8192], got ", size);
  WISESR_CHECK(val_fraction >= 0.0 && val_fraction < 1.0, "--val-fraction must be in [0, 1), got ",
               val_fraction);
  WISESR_CHECK(quality >= 1 && quality <= 100, "--quality must be in [1, 100], got ", quality);
  check_thread_option("--threads", threads);
  check_not_a_directory("--list", list);
  check_not_a_directory("--val-list", val_list);
  check_not_a_directory("--class-index", class_index);
  check_apart(out, "--input", input);
  check_apart(out, "--val-input", val_input);
}

void VerifyOptions::validate() const { check_thread_option("--threads", threads); }

}  // namespace wisesr::prep
