// Where each rank sits: node-local rank and size from MPI_Comm_split_type(SHARED), and the GPU that follows
// from them. Run by the mpi_np* tests on one node, and by tests/cluster/multinode.sh on two "nodes" x 2
// ranks, which sets WISESR_TEST_RANKS_PER_NODE=2 for the layout it launched.

#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdlib>
#include <vector>

#include "comm/mpi_runtime.h"
#include "core/error.h"
#include "train/runtime.h"

namespace wisesr {
namespace {

TEST(Layout, NodeLocalRanksFollowTheNodesAndPickTheirGpu) {
  comm::MpiRuntime runtime(nullptr, nullptr);  // MPI is up already: only the layout is computed
  const comm::ProcessGroupInfo& info = runtime.info();
  const char* env = std::getenv("WISESR_TEST_RANKS_PER_NODE");
  const int per_node = env ? std::atoi(env) : info.world_size;  // one node unless the test says otherwise
  ASSERT_GT(per_node, 0);
  ASSERT_EQ(info.world_size % per_node, 0);
  // mpirun --map-by ppr:N:node fills node after node: ranks 0..N-1 on the first, N..2N-1 on the next.
  EXPECT_EQ(info.local_size, per_node);
  EXPECT_EQ(info.local_rank, info.rank % per_node);
  // The device: GPU <local rank>, and more ranks on a node than GPUs is an error naming both counts.
  EXPECT_EQ(train::gpu_for_rank(info, per_node), info.local_rank);
  EXPECT_EQ(train::gpu_for_rank(info, per_node + 1), info.local_rank);
  try {
    train::gpu_for_rank(info, per_node - 1);
    if (per_node > 1) ADD_FAILURE() << per_node << " ranks accepted on " << per_node - 1 << " GPU(s)";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find(std::to_string(per_node) + " ranks on this node but only"), std::string::npos)
        << e.message();
  }
  // Across the job, every node has each local rank exactly once.
  std::vector<int> local(static_cast<size_t>(info.world_size));
  MPI_Allgather(&info.local_rank, 1, MPI_INT, local.data(), 1, MPI_INT, MPI_COMM_WORLD);
  for (int r = 0; r < info.world_size; ++r)
    EXPECT_EQ(local[static_cast<size_t>(r)], r % per_node) << "rank " << r;
}

}  // namespace
}  // namespace wisesr
