#include "prep_options.h"

#include "core/enum.h"
#include "core/error.h"

namespace wisesr::prep {

void SynthOptions::validate() const {
  WISESR_CHECK(classes >= 2 && classes <= 24, "--classes must be in [2, 24], got ", classes);
  WISESR_CHECK(per_class >= 1, "--per-class must be >= 1");
  WISESR_CHECK(size >= 32 && size <= 4096, "--size must be in [32, 4096], got ", size);
  check_choice("--format", format, {"jpeg", "png"});
  check_choice("--task", task, {"spatial", "texture"});
  WISESR_CHECK(task != "texture" || classes <= 8, "--task texture has 8 patterns: --classes must be <= 8");
}

void PrepOptions::validate() const {
  WISESR_CHECK(input.empty() != list.empty(), "give exactly one training source: --input DIR or --list FILE");
  WISESR_CHECK(val_input.empty() || val_list.empty(), "give at most one of --val-input and --val-list");
  check_choice("--resize", resize, {"squash", "center-crop", "short-side"});
  check_choice("--storage", storage, {"jpeg", "raw"});
  WISESR_CHECK(shard_records > 0 || shard_mb > 0, "--shard-mb must be > 0 (or set --shard-records)");
  WISESR_CHECK(size >= 8 && size <= 8192, "--size must be in [8, 8192], got ", size);
  WISESR_CHECK(val_fraction >= 0.0 && val_fraction < 1.0, "--val-fraction must be in [0, 1), got ",
               val_fraction);
  WISESR_CHECK(quality >= 1 && quality <= 100, "--quality must be in [1, 100], got ", quality);
  WISESR_CHECK(threads >= 0, "--threads must be >= 0");
}

void VerifyOptions::validate() const { WISESR_CHECK(threads >= 0, "--threads must be >= 0"); }

}  // namespace wisesr::prep
