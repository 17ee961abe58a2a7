#!/usr/bin/env bash
# Set up if needed, build, and run the whole test suite (unit, multi-rank under mpirun, integration;
# GPU tests skip without a GPU). Extra arguments go to ctest, e.g. ./launch/test.sh -L mpi
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
"$WISESR_ROOT/launch/setup.sh"
wisesr_build
cd "$WISESR_BUILD_DIR"
ctest --output-on-failure -j "$(nproc)" "$@"
