#include "comm/mpi_runtime.h"

#include <cstdlib>
#include <exception>

namespace wisesr::comm {

std::string mpi_error_string(int code) {
  char buf[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, buf, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(buf, len);
}

bool MpiRuntime::initialized() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
}

MpiRuntime::MpiRuntime(int* argc, char*** argv) : uncaught_at_start_(std::uncaught_exceptions()) {
  if (!initialized()) {
    int provided = 0;
    WISESR_CHECK_MPI(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided));
    owns_ = true;
    WISESR_CHECK(provided >= MPI_THREAD_FUNNELED, "MPI does not provide MPI_THREAD_FUNNELED");
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  WISESR_CHECK_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &info_.rank));
  WISESR_CHECK_MPI(MPI_Comm_size(MPI_COMM_WORLD, &info_.world_size));
  MPI_Comm local;
  WISESR_CHECK_MPI(
      MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, info_.rank, MPI_INFO_NULL, &local));
  WISESR_CHECK_MPI(MPI_Comm_rank(local, &info_.local_rank));
  WISESR_CHECK_MPI(MPI_Comm_size(local, &info_.local_size));
  MPI_Comm_free(&local);
}

MpiRuntime::~MpiRuntime() {
  // During unwinding from an error, MPI_Finalize would wait for peers that may never arrive (it is
  // collective), and main's handler, which aborts the job, would never run: leave MPI to MPI_Abort.
  if (std::uncaught_exceptions() > uncaught_at_start_) return;
  if (owns_ && initialized()) MPI_Finalize();
}

void MpiRuntime::abort(int code) {
  if (initialized()) {
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size > 1) MPI_Abort(MPI_COMM_WORLD, code);
  }
  std::exit(code);
}

}  // namespace wisesr::comm
