#pragma once
// The communication layer's option group: which backend all-reduces the gradients and how they are
// bucketed (comm/grad_sync.h). Spelled --train.<key> (INI section [train]) in every subcommand that takes
// it; see data/data_options.h for how groups are declared and used.

#include <array>

#include "core/enum.h"

namespace wisesr::comm {

/// --train.backend: auto = NCCL on a CUDA device when the build has it, else MPI.
enum class Backend { kAuto, kMpi, kNccl };
constexpr auto enum_names(Backend) {
  return std::array{EnumName{Backend::kAuto, "auto"}, EnumName{Backend::kMpi, "mpi"},
                    EnumName{Backend::kNccl, "nccl"}};
}

struct CommOptions {
  static constexpr const char* kSection = "train";
  static constexpr const char* kCaption = "Gradient communication";

  Backend backend = Backend::kAuto;
  double bucket_mb = 25;           // gradient all-reduce bucket size (MiB), DDP's default
  double first_bucket_mb = 1;      // the first bucket (the last layers) is small to start early
  bool check_collectives = false;  // compare every rank's gradient all-reduce sequence each step (debug)

  static constexpr double kMinBucketMb = 1.0 / 1024;  // 1 KiB
  static constexpr double kMaxBucketMb = 16384;       // 16 GiB: one bucket for any model's gradients

  /// Throws wisesr::Error naming the first bad option.
  void validate() const {
    WISESR_CHECK(bucket_mb >= kMinBucketMb && bucket_mb <= kMaxBucketMb,
                 "--train.bucket_mb must be in [1/1024, 16384] (MiB), got ", bucket_mb);
    WISESR_CHECK(first_bucket_mb >= kMinBucketMb && first_bucket_mb <= kMaxBucketMb,
                 "--train.first_bucket_mb must be in [1/1024, 16384] (MiB), got ", first_bucket_mb);
  }
};

template <typename F>
void visit_options(CommOptions& o, F&& f) {
  f("backend", o.backend,
    "gradient all-reduce backend: auto (nccl on GPUs when built with it, else mpi) | mpi | nccl");
  f("bucket_mb", o.bucket_mb, "gradient all-reduce bucket size in MiB (DDP: 25), in [1/1024, 16384]");
  f("first_bucket_mb", o.first_bucket_mb, "size of the first bucket in MiB (DDP: 1), in [1/1024, 16384]");
  f("check_collectives", o.check_collectives,
    "debug: before every gradient all-reduce (MPI) or once per step (NCCL), compare what each rank "
    "launches; a rank that launches a different bucket fails every rank naming the first difference");
}

}  // namespace wisesr::comm
