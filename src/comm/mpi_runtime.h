#pragma once
// MPI start-up and the facts every rank needs about its place in the job.

#include <mpi.h>

#include <string>

#include "core/error.h"

#define WISESR_CHECK_MPI(expr)                                                                       \
  do {                                                                                               \
    int wisesr_mpi_rc_ = (expr);                                                                     \
    if (wisesr_mpi_rc_ != MPI_SUCCESS) {                                                             \
      WISESR_THROW("MPI call " #expr " failed: ", ::wisesr::comm::mpi_error_string(wisesr_mpi_rc_)); \
    }                                                                                                \
  } while (false)

namespace wisesr::comm {

std::string mpi_error_string(int code);

/// Where this process sits in the job: global rank/size and node-local rank/size
/// (from MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)), used to pick the GPU and the thread count.
struct ProcessGroupInfo {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_size = 1;
};

/// RAII for MPI_Init_thread/MPI_Finalize (skipped while an exception unwinds: main then aborts the job). Only
/// the main thread calls MPI (MPI_THREAD_FUNNELED). Errors return codes (MPI_ERRORS_RETURN) so they become
/// exceptions with a message.
class MpiRuntime {
 public:
  MpiRuntime(int* argc, char*** argv);
  ~MpiRuntime();
  MpiRuntime(const MpiRuntime&) = delete;
  MpiRuntime& operator=(const MpiRuntime&) = delete;

  const ProcessGroupInfo& info() const { return info_; }
  /// Abort every rank of the job (used by main after an error so no peer waits in a collective).
  [[noreturn]] static void abort(int code);
  static bool initialized();

 private:
  ProcessGroupInfo info_;
  bool owns_ = false;
  int uncaught_at_start_ = 0;
};

}  // namespace wisesr::comm
