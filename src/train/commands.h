#pragma once
// `wisesr eval` and `wisesr export`: what they do with a checkpoint. (`wisesr train` is run_train in
// train/train_loop.h.)

#include "comm/mpi_runtime.h"
#include "config/config.h"

namespace wisesr::train {

/// `wisesr eval`: rebuild the checkpoint's model with the pieces the Trainer is made of (select_device,
/// make_communicator, make_classifier), evaluate a split, print (rank 0) and optionally write JSON.
/// Collective over MPI_COMM_WORLD.
void run_eval(const config::EvalConfig& cfg, const comm::ProcessGroupInfo& info);

/// `wisesr export`: rebuild the model of a checkpoint and write its weights for Python (models/weights.h).
void export_checkpoint(const config::ExportConfig& cfg);

}  // namespace wisesr::train
