// GoogleTest main for multi-rank tests run under mpirun. Every rank runs every test; rank 0 prints the
// usual report, other ranks print only their failures (prefixed with the rank). The exit code is
// non-zero on *every* rank when *any* rank failed, so mpirun and ctest report the failure.

#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdio>

#include "core/log.h"

namespace {

class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (r.failed()) {
      std::fprintf(stderr, "[rank %d] FAILURE %s:%d\n%s\n", rank_, r.file_name() ? r.file_name() : "?",
                   r.line_number(), r.summary());
    }
  }

 private:
  int rank_;
};

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  // As wisesr's MpiRuntime: MPI errors return codes (WISESR_CHECK_MPI throws them) instead of aborting the
  // job, so a test that provokes one reports its own failure message first.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  wisesr::log::set_rank(rank, size);
  wisesr::log::set_level(wisesr::log::Level::kWarn);
  ::testing::InitGoogleTest(&argc, argv);
  auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
  if (rank != 0) delete listeners.Release(listeners.default_result_printer());
  listeners.Append(new RankFailurePrinter(rank));
  int local = RUN_ALL_TESTS();
  int any = 0;
  MPI_Allreduce(&local, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (rank == 0) {
    std::printf("[mpi] %d rank(s): %s\n", size, any ? "FAILED on at least one rank" : "passed on every rank");
  }
  MPI_Finalize();
  return any ? 1 : 0;
}
