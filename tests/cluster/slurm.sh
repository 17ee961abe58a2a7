#!/usr/bin/env bash
# cluster/slurm/*.sbatch themselves (not copies) on a real two-node Slurm cluster on 127.0.0.1
# (tests/cluster/slurm_cluster.sh: slurmctld + 2 slurmd of Debian's slurm-wlm, started here and stopped by
# PID whatever happens), one CPU rank per node:
#  prep.sbatch prepares the dataset (prep + verify on one node);
#  (a) train.sbatch completes; eval.sbatch evaluates its checkpoint;
#  (b) preempted with `scancel --signal=USR1 --batch`: checkpoint -> scontrol requeue -> the rerun resumes
#      -> completes, with final weights bit-identical to an uninterrupted run;
#  (c) a rank killed: the job fails within the bound, Slurm shows FAILED, no requeue;
#  (d) train.sbatch with WISESR_LAUNCHER=srun: srun --mpi=pmix, no mpirun.
# Usage: slurm.sh WISESR_BIN PYTHON SOURCE_DIR      (exit 77 = skipped: Slurm is not installed)
set -euo pipefail
bin=$1
python=$2
src=$3
for tool in slurmctld slurmd sbatch scontrol scancel sinfo; do
  command -v "$tool" > /dev/null || { echo "SKIP: $tool not found (./launch/setup.sh installs Slurm)"; exit 77; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/wisesr-slurm-XXXXXX")
source "$src/tests/cluster/slurm_cluster.sh"
cleanup() {
  slurm_cluster_down
  pkill -KILL -f "$work" 2> /dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
fail() {
  echo "FAIL: $*"
  for f in "$work"/*.out; do [ -f "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }; done
  tail -n 20 "$work"/slurm/log/slurmctld.log 2> /dev/null || true
  exit 1
}
"$python" -c "import torch" 2> /dev/null || fail "$python has no torch (run ./launch/setup.sh)"
slurm_cluster_up "$work/slurm" || fail "the Slurm cluster did not start"

# Open MPI inside the jobs: both "nodes" are this host, so no shared memory between them (segment names
# would collide) and all traffic on loopback; a private session directory.
mkdir -p "$work/tmp"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,tcp \
  OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo TMPDIR=$work/tmp

# The dataset: prep.sbatch on one node (prep + verify).
"$bin" synth --out images --classes 3 --per-class 40 --size 32 --seed 5 > /dev/null
job=$(sbatch --parsable --time=5 --output="$work/prep-%j.out" \
  --export="ALL,WISESR_ROOT=$src,WISESR_BIN=$bin,WISESR_INPUT=$work/images,WISESR_SHARDS=$work/shards,WISESR_SIZE=32,WISESR_PREP_ARGS=--val-fraction 0.1 --shard-records 32" \
  "$src/cluster/slurm/prep.sbatch")
state=$(slurm_wait_job "$job" 120 COMPLETED FAILED CANCELLED TIMEOUT) || fail "prep job $job: $state"
[ "$state" = COMPLETED ] || fail "prep job $job ended $state"
[ -f shards/index.json ] || fail "prep.sbatch wrote no index.json"
echo "prep.sbatch: COMPLETED (prep + verify)"
cat > test.cfg << 'EOF'
[model]
backbone = resnet-tiny
[train]
batch_size = 2
threads = 1
device = cpu
log_every = 2
seed = 3
[data]
workers = 1
augment = none
EOF
# The settings of train.sbatch, as a user passes them; sbatch options override the #SBATCH lines.
submit() {  # SCRIPT RUN_NAME EXTRA_TRAIN_ARGS [NAME=VALUE ...] -> job id
  local script=$1 run=$2 extra=$3
  shift 3
  local exports="ALL,WISESR_ROOT=$src,WISESR_BIN=$bin,WISESR_CONFIG=$work/test.cfg,WISESR_DATA=$work/shards"
  exports+=",WISESR_OUT_DIR=$work/runs,WISESR_RUN_NAME=$run,WISESR_ENV=,WISESR_LAUNCH_ARGS=--grace 10"
  exports+=",WISESR_TRAIN_ARGS=$extra"
  for kv in "$@"; do exports+=",$kv"; done
  sbatch --parsable --nodes=2 --ntasks-per-node=1 --cpus-per-task=1 --gpus-per-node=0 --time=10 \
    --job-name="$run" --output="$work/$run-%j.out" --export="$exports" "$src/cluster/slurm/$script"
}
restarts() { scontrol -o show job "$1" | grep -o 'Restarts=[0-9]*' | cut -d= -f2; }
export_weights() { "$bin" export --checkpoint "runs/$1/checkpoints/last.pt" --out "$1.pt" > /dev/null; }
same_weights() {
  "$python" - "$1.pt" "$2.pt" << 'PY'
import sys, torch
a, b = torch.load(sys.argv[1]), torch.load(sys.argv[2])
diff = [k for k in a if not torch.equal(a[k], b[k])]
assert a.keys() == b.keys() and not diff, f"{len(diff)} tensors differ, e.g. {diff[:3]}"
PY
}

# --- (a) a job that completes, then eval ----------------------------------------------------------------------------
job=$(submit train.sbatch a "--train.epochs 2")
state=$(slurm_wait_job "$job" 180 COMPLETED FAILED CANCELLED TIMEOUT) || fail "(a) job $job: $state"
[ "$state" = COMPLETED ] || fail "(a) job $job ended $state"
grep -q '"status": "completed"' runs/a/summary.json || fail "(a) summary not completed"
grep -q '"ranks": 2' runs/a/summary.json || fail "(a) not 2 ranks"
eval_job=$(sbatch --parsable --nodes=2 --ntasks-per-node=1 --cpus-per-task=1 --gpus-per-node=0 --time=5 \
  --output="$work/eval-%j.out" --export="ALL,WISESR_ROOT=$src,WISESR_BIN=$bin,WISESR_DATA=$work/shards,WISESR_CHECKPOINT=$work/runs/a/checkpoints/last.pt,WISESR_JSON=$work/eval-a.json" \
  "$src/cluster/slurm/eval.sbatch")
state=$(slurm_wait_job "$eval_job" 120 COMPLETED FAILED CANCELLED TIMEOUT) || fail "(a) eval job: $state"
[ "$state" = COMPLETED ] || fail "(a) eval job ended $state"
val=$(python3 -c 'import json;print(json.load(open("shards/index.json"))["splits"]["val"]["records"])')
python3 -c "import json,sys; e=json.load(open('eval-a.json')); sys.exit(0 if int(e['samples'])==$val else 1)" ||
  fail "(a) eval did not count every validation record once"
echo "(a) train.sbatch on 2 nodes: COMPLETED; eval.sbatch: $val samples"

# --- (b) preempted -> requeued -> resumed -> completed, bit-identical -------------------------------------------
# Long enough (~8 s on a fast machine) that the signal lands mid-run: launch/train.sh holds a signal until the
# ranks are 2 s old (see send_pending there), and 6 epochs once finished in 1.96 s, before it was passed on.
b_epochs=24
job=$(submit train.sbatch b "--train.epochs $b_epochs")
for _ in $(seq 1 600); do
  grep -q '"kind":"train"' runs/b/metrics.jsonl 2> /dev/null && break
  sleep 0.2
done
grep -q '"kind":"train"' runs/b/metrics.jsonl || fail "(b) training never started"
scancel --signal=USR1 --batch "$job"
state=$(slurm_wait_job "$job" 240 COMPLETED FAILED CANCELLED TIMEOUT) || fail "(b) job $job: $state"
[ "$state" = COMPLETED ] || fail "(b) job $job ended $state"
[ "$(restarts "$job")" -eq 1 ] || fail "(b) job $job was requeued $(restarts "$job") times, expected 1"
grep -q "preempted after a checkpoint: requeueing" b-"$job".out || fail "(b) no requeue message"
python3 - << 'PY' || fail "(b) the rerun did not resume and complete"
import json
s = json.load(open("runs/b/summary.json"))
assert s["status"] == "completed" and s["resumed_from_step"] > 0, s
PY
# The same training without interruption, on 2 ranks.
mpirun -np 2 --oversubscribe "$bin" train --config test.cfg --data.dir shards --train.out_dir runs \
  --train.run_name b-ref --train.epochs $b_epochs > b-ref.log 2>&1 || { cat b-ref.log; fail "(b) reference run"; }
export_weights b && export_weights b-ref
same_weights b b-ref || fail "(b) preempted + requeued run differs from the uninterrupted one"
echo "(b) scancel --signal=USR1 --batch: checkpoint, requeue, resume from step $(python3 -c 'import json;print(json.load(open("runs/b/summary.json"))["resumed_from_step"])'), COMPLETED; weights bit-identical"

# --- (c) a rank killed: FAILED within the bound, no requeue -----------------------------------------------------------
start=$SECONDS
job=$(submit train.sbatch c "--train.epochs 20 --train.fault kill@1:3")
state=$(slurm_wait_job "$job" 120 COMPLETED FAILED CANCELLED TIMEOUT) || fail "(c) job $job: $state"
took=$((SECONDS - start))
[ "$state" = FAILED ] || fail "(c) job $job with a killed rank ended $state, expected FAILED"
[ "$(restarts "$job")" -eq 0 ] || fail "(c) a failed job was requeued"
[ "$took" -le 90 ] || fail "(c) the failed job took $took s"
echo "(c) a rank killed: FAILED in ${took}s, not requeued"

# --- (d) srun --mpi=pmix ---------------------------------------------------------------------------------------------
job=$(submit train.sbatch d "--train.epochs 1" WISESR_LAUNCHER=srun)
state=$(slurm_wait_job "$job" 180 COMPLETED FAILED CANCELLED TIMEOUT) || fail "(d) job $job: $state"
[ "$state" = COMPLETED ] || fail "(d) job $job ended $state"
grep -q '"ranks": 2' runs/d/summary.json || fail "(d) srun job did not have 2 ranks"
echo "(d) srun --mpi=pmix: COMPLETED on 2 ranks"
echo "slurm: passed"
