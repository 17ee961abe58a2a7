#!/usr/bin/env bash
# Failure handling under a real mpirun, as on a cluster:
#  - SIGUSR1 to mpirun (Slurm's preemption warning, forwarded by Open MPI to every rank) -> every rank
#    stops at the same step, a checkpoint is written, exit 0; --train.resume auto finishes the run;
#  - a rank killed (SIGKILL), a rank that throws, a rank that hangs -> the whole job exits non-zero
#    within the bound, with a message naming the rank.
# Usage: failures.sh WISESR_BIN MPIEXEC
set -euo pipefail
bin=$1
mpiexec=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/wisesr-failures-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fail() { echo "FAIL: $*"; exit 1; }

"$bin" synth --out images --classes 3 --per-class 40 --size 32 --seed 5 > /dev/null
"$bin" prep --input images --out shards --size 32 --val-fraction 0.1 --shard-records 32 > /dev/null

train() {  # train RUN_NAME [extra options...]
  local run=$1
  shift
  "$mpiexec" -np 2 --oversubscribe "$bin" train --data.dir shards --train.out_dir runs --train.run_name "$run" \
    --train.batch_size 2 --train.threads 1 --data.workers 1 --train.device cpu --train.log_every 1 \
    --train.progress lines --train.check_collectives true "$@"
}

# --- preemption: SIGUSR1 to mpirun while training, then resume ----------------------------------------
train pre --train.epochs 10 > pre.log 2>&1 &
pid=$!  # the subshell running train(); mpirun is its child
for _ in $(seq 1 600); do  # wait until training steps are being logged
  grep -q '"kind":"train"' runs/pre/metrics.jsonl 2> /dev/null && break
  sleep 0.1
done
grep -q '"kind":"train"' runs/pre/metrics.jsonl || { cat pre.log; fail "training never started"; }
pkill -USR1 -P "$pid" -x "$(basename "$mpiexec")" || pkill -USR1 -P "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || { cat pre.log; fail "preempted run exited $rc, expected 0"; }
grep -q '"status": "preempted"' runs/pre/summary.json || { cat runs/pre/summary.json; fail "status not preempted"; }
grep -q "checkpointing at step" pre.log || fail "no preemption message"
test -L runs/pre/checkpoints/last.pt || fail "no last.pt after preemption"
stopped=$(python3 -c 'import json;print(json.load(open("runs/pre/summary.json"))["steps"])')
train pre --train.epochs 10 --train.resume auto > resume.log 2>&1 || { cat resume.log; fail "resume failed"; }
grep -q "resuming from" resume.log || fail "resume did not pick up the checkpoint"
python3 - "$stopped" <<'PY'
import json, sys
s = json.load(open("runs/pre/summary.json"))
n = json.load(open("shards/index.json"))["splits"]["train"]["records"]
assert s["status"] == "completed", s
assert s["resumed_from_step"] == int(sys.argv[1]), s
assert s["steps"] == 10 * (n // 4), (s, n)   # 10 epochs of floor(n / global batch 4) steps
print("preempt + resume ok:", s["steps"], "steps, resumed from", s["resumed_from_step"])
PY

# --- a rank that dies, throws or hangs ends the whole job, in bounded time --------------------------------
expect_failure() {  # NAME MAX_SECONDS PATTERN [train options...]
  local name=$1 bound=$2 pattern=$3
  shift 3
  local start=$SECONDS rc=0
  timeout 120 bash -c "$(declare -f train); bin='$bin' mpiexec='$mpiexec' train $name $*" > "$name.log" 2>&1 || rc=$?
  local took=$((SECONDS - start))
  [ "$rc" -ne 0 ] || { cat "$name.log"; fail "$name: job exited 0"; }
  [ "$rc" -ne 124 ] || { cat "$name.log"; fail "$name: job still running after 120 s"; }
  [ "$took" -le "$bound" ] || { cat "$name.log"; fail "$name: took ${took}s (bound ${bound}s)"; }
  grep -Eq "$pattern" "$name.log" || { cat "$name.log"; fail "$name: no message matching '$pattern'"; }
  echo "$name: job ended in ${took}s with status $rc"
}
expect_failure killed 60 "rank 1|signal 9|Killed" --train.epochs 3 --train.fault kill@1:3
expect_failure thrown 60 "\[rank 1\] wisesr train: error: injected fault" --train.epochs 3 --train.fault throw@1:3
# The hang comes after the first 3 steps: until then --train.startup_timeout_s (600 s) is the limit.
expect_failure hung 60 "\[rank [01]\] wisesr: error: no progress for" --train.epochs 3 --train.fault hang@1:6 \
  --train.timeout_s 5
# --- a corrupt record is skipped with a warning, not a crash -----------------------------------------------
cp -r shards shards-bad
shard=$(ls shards-bad/train-*.h5 | head -1)
size=$(stat -c %s "$shard")
printf '\xA5\x5A\xA5\x5A' | dd of="$shard" bs=1 seek=$((size / 2)) conv=notrunc status=none
# By default the shard checksums are compared before training: the changed shard is named, no step runs.
if "$mpiexec" -np 2 --oversubscribe "$bin" train --data.dir shards-bad --train.out_dir runs --train.run_name \
  changed --train.batch_size 2 --train.threads 1 --data.workers 1 --train.device cpu --train.progress lines \
  > changed.log 2>&1; then
  cat changed.log; fail "a changed shard was not reported before training"
fi
grep -q "$(basename "$shard")' does not match index.json" changed.log || { cat changed.log; fail "changed shard not named"; }
! grep -q '"step"' runs/changed/metrics.jsonl 2>/dev/null || fail "training started on a changed shard"
echo "changed shard: reported before training"
# With --data.verify size the damage is only found when the record is read: skipped with a warning.
"$mpiexec" -np 2 --oversubscribe "$bin" train --data.dir shards-bad --train.out_dir runs --train.run_name bad \
  --train.batch_size 2 --train.threads 1 --data.workers 1 --train.device cpu --train.progress lines \
  --data.verify size --data.max_bad_records 5 --train.check_collectives true > bad.log 2>&1 || { cat bad.log; fail "a corrupt record crashed the run"; }
grep -q "skipping corrupt record" bad.log || { cat bad.log; fail "no warning for the corrupt record"; }
grep -q '"status": "completed"' runs/bad/summary.json || fail "run with a corrupt record did not complete"
echo "corrupt record: skipped with a warning"
echo "failures: passed"
