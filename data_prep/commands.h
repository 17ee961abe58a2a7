#pragma once
// Dataset-preparation subcommands. They need OpenCV; a build without it links commands_unavailable.cpp,
// whose functions fail with a clear message, so the trainer builds and runs everywhere.

#include "prep_options.h"

namespace wisesr::prep {

/// `wisesr synth`: write a synthetic class-folder image dataset.
void run_synth(const SynthOptions& cfg);
/// `wisesr prep`: class folders -> train/val HDF5 shards + index.json.
void run_prep(const PrepOptions& cfg);
/// `wisesr verify`: manifest <-> shards (counts, SHA-256) and every record decoded; returns the number
/// of damaged shards (0 = intact) after printing a line per shard.
int run_verify(const VerifyOptions& cfg);

}  // namespace wisesr::prep
