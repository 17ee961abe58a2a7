#pragma once
// Helpers for tests that run on every rank.

#include <mpi.h>
#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <string>

#include "test_data.h"

namespace wisesr::testing {

/// A temp dir created by rank 0 whose path every rank receives. Construction and destruction are
/// collective (the destructor waits for every rank before rank 0 removes the directory).
class SharedTempDir {
 public:
  SharedTempDir() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    std::string path;
    if (rank_ == 0) {
      owner_ = std::make_unique<TempDir>();
      path = owner_->path().string();
    }
    int len = static_cast<int>(path.size());
    MPI_Bcast(&len, 1, MPI_INT, 0, MPI_COMM_WORLD);
    path.resize(static_cast<size_t>(len));
    MPI_Bcast(path.data(), len, MPI_CHAR, 0, MPI_COMM_WORLD);
    path_ = path;
  }
  ~SharedTempDir() {
    MPI_Barrier(MPI_COMM_WORLD);
    owner_.reset();
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  int rank_ = 0;
  std::filesystem::path path_;
  std::unique_ptr<TempDir> owner_;
};

/// Whether every rank holds exactly the same values (collective).
inline bool same_on_every_rank(const torch::Tensor& t) {
  auto flat = t.detach().to(torch::kCPU, torch::kDouble).flatten().contiguous();
  auto mn = flat.clone(), mx = flat.clone();
  MPI_Allreduce(MPI_IN_PLACE, mn.data_ptr<double>(), static_cast<int>(mn.numel()), MPI_DOUBLE, MPI_MIN,
                MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, mx.data_ptr<double>(), static_cast<int>(mx.numel()), MPI_DOUBLE, MPI_MAX,
                MPI_COMM_WORLD);
  return torch::equal(mn, mx);
}

}  // namespace wisesr::testing
