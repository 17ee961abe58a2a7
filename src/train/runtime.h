#pragma once
// Per-rank runtime choices: which device this rank drives and how many CPU threads it may use.

#include <torch/torch.h>

#include <string>

#include "comm/mpi_runtime.h"

namespace wisesr::train {

/// "auto": GPU <local_rank> when CUDA is available, else CPU. "cuda" without a GPU, or more ranks on
/// a node than it has GPUs, is an error naming the counts.
torch::Device select_device(const std::string& preference, const comm::ProcessGroupInfo& info);

/// Intra-op threads: the requested count, or the node's cores divided among its ranks (at least 1).
int configure_threads(int requested, const comm::ProcessGroupInfo& info);

}  // namespace wisesr::train
