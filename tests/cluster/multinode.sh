#!/usr/bin/env bash
# Two "nodes" x two ranks with plain Open MPI on one machine, as on a small cluster: mpirun starts one
# daemon per node through a plm_rsh_agent (tests/cluster/fake_ssh.sh) instead of ssh; every byte stays on
# loopback. Checks:
#  - every rank sees node-local rank 0 or 1 of 2 and the GPU choice follows it (wisesr_mpi_tests Layout.*);
#  - a short CPU training run launched with launch/train.sh --hostfile equals the 4-rank single-node run
#    bit for bit (final weights and training metrics);
#  - a rank killed on node B ends the whole job within the bound.
# Usage: multinode.sh WISESR_BIN MPI_TESTS_BIN MPIEXEC PYTHON SOURCE_DIR
set -euo pipefail
bin=$1
mpi_tests=$2
mpiexec=$3
python=$4
src=$5
work=$(mktemp -d "${TMPDIR:-/tmp}/wisesr-multinode-XXXXXX")
cleanup() {
  pkill -KILL -f "$work" 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export WISESR_FAKE_NODES_DIR=$work/nodes
fail() {
  echo "FAIL: $*"
  exit 1
}
"$python" -c "import torch" 2> /dev/null || fail "$python has no torch (run ./launch/setup.sh)"

# Names that resolve to nothing: mpirun must not recognise either "node" as this host (it would start
# that node's ranks itself, next to the agent's daemon).
printf 'wisesr-node-a slots=2\nwisesr-node-b slots=2\n' > hosts
loopback=(--mca plm_rsh_agent "$src/tests/cluster/fake_ssh.sh" --mca oob_tcp_if_include lo --mca btl_tcp_if_include lo)

# --- the layout ------------------------------------------------------------------------------------------------
"$mpiexec" --hostfile hosts -np 4 --map-by ppr:2:node "${loopback[@]}" -x WISESR_TEST_RANKS_PER_NODE=2 \
  "$mpi_tests" --gtest_filter='Layout.*' > layout.log 2>&1 || { cat layout.log; fail "layout on 2 nodes x 2"; }
grep -q "passed on every rank" layout.log || { cat layout.log; fail "layout test did not run on every rank"; }
echo "layout: node-local ranks 0,1 on each of 2 nodes; GPU = local rank"

# --- the same training on 2 nodes x 2 and on 1 node x 4 -----------------------------------------------------------
"$bin" synth --out images --classes 3 --per-class 40 --size 32 --seed 5 > /dev/null
"$bin" prep --input images --out shards --size 32 --val-fraction 0.1 --shard-records 32 > /dev/null
opts=(--data.dir "$work/shards" --train.out_dir "$work/runs" --train.batch_size 2 --train.threads 1 --data.workers 1
  --train.device cpu --train.log_every 5 --train.progress lines --train.seed 11)
mpi_args=()
for a in "${loopback[@]}"; do mpi_args+=(--mpi-arg "$a"); done
"$src/launch/train.sh" --dry-run --hostfile hosts --gpus-per-node 2 --bin "$bin" --mpirun "$mpiexec" "${mpi_args[@]}" \
  -- "${opts[@]}" --train.epochs 2 --train.run_name two > dry.txt 2>&1
grep -q -- "-np 4 --hostfile hosts --map-by ppr:2:node" dry.txt || { cat dry.txt; fail "dry run: unexpected mpirun line"; }
"$src/launch/train.sh" --hostfile hosts --gpus-per-node 2 --bin "$bin" --mpirun "$mpiexec" "${mpi_args[@]}" \
  -- "${opts[@]}" --train.epochs 2 --train.run_name two > two.log 2>&1 || { cat two.log; fail "training on 2 nodes x 2"; }
"$mpiexec" -np 4 --oversubscribe "$bin" train "${opts[@]}" --train.epochs 2 --train.run_name one > one.log 2>&1 ||
  { cat one.log; fail "training on 1 node x 4"; }
grep -q "4 rank(s)" two.log || fail "the 2-node run did not have 4 ranks"
"$bin" export --checkpoint runs/two/checkpoints/last.pt --out two.pt > /dev/null
"$bin" export --checkpoint runs/one/checkpoints/last.pt --out one.pt > /dev/null
"$python" - one.pt two.pt << 'PY' || fail "2 nodes x 2 and 1 node x 4 trained different weights"
import sys, torch
a, b = torch.load(sys.argv[1]), torch.load(sys.argv[2])
assert a.keys() == b.keys(), "different parameter names"
diff = [k for k in a if not torch.equal(a[k], b[k])]
assert not diff, f"{len(diff)} tensors differ, e.g. {diff[:3]}"
print(f"2 nodes x 2 == 1 node x 4: {len(a)} tensors bit-identical")
PY
python3 - runs/one/summary.json runs/two/summary.json << 'PY'
import json, sys
one, two = (json.load(open(p)) for p in sys.argv[1:])
assert one["steps"] == two["steps"] and one["ranks"] == two["ranks"] == 4, (one, two)
assert one["train"] == two["train"], (one["train"], two["train"])
PY

# --- a rank killed on node B ends the job ---------------------------------------------------------------------------
start=$SECONDS
rc=0
timeout 120 "$mpiexec" --hostfile hosts -np 4 --map-by ppr:2:node "${loopback[@]}" "$bin" train "${opts[@]}" \
  --train.run_name killed --train.epochs 20 --train.fault kill@3:3 > killed.log 2>&1 || rc=$?
took=$((SECONDS - start))
[ "$rc" -ne 0 ] || { cat killed.log; fail "the job with a killed rank exited 0"; }
[ "$rc" -ne 124 ] || { cat killed.log; fail "the job with a killed rank still ran after 120 s"; }
[ "$took" -le 60 ] || { cat killed.log; fail "the job with a killed rank took $took s to end (bound 60 s)"; }
grep -q "rank 3" killed.log || { cat killed.log; fail "the killed rank is not named"; }
echo "killed: rank 3 (node B) killed -> the job ended in ${took}s with status $rc"
echo "multinode: passed"
