#!/usr/bin/env bash
# Stop signals under every launcher path, as on a cluster (cluster/README.md, "Signals"):
#  - SIGTERM, SIGINT, SIGUSR1, SIGUSR2 sent to launch/train.sh, to mpirun, or to the ranks themselves each
#    end in a complete checkpoint, "status": "preempted" and --train.preempt_exit_code (75 here), also with
#    a checkpoint that takes seconds to write (--train.fault slowsave) and with a real ResNet-50 checkpoint;
#  - a signal in the first moments of a rank (before LibTorch has loaded) is a stop request, not death;
#  - a second job on the same run directory fails at once naming the holder; a dead holder's lock and its
#    leftover temporaries are taken over / removed;
#  - ranks whose mpirun was killed stop within a second or two instead of training on;
#  - a rank that is stopped (SIGSTOP) is named by the watchdog of the others.
# Usage: signals.sh WISESR_BIN MPIEXEC SOURCE_DIR
set -euo pipefail
bin=$1
mpiexec=$2
src=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/wisesr-signals-XXXXXX")
cleanup() {
  pkill -KILL -f "$work" 2> /dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 TMPDIR=$work
fail() {
  echo "FAIL: $*"
  exit 1
}
code=75

"$bin" synth --out images --classes 3 --per-class 40 --size 32 --seed 5 > /dev/null
"$bin" prep --input images --out shards --size 32 --val-fraction 0.1 --shard-records 32 > /dev/null
opts=(--data.dir "$work/shards" --train.out_dir "$work/runs" --train.batch_size 2 --train.threads 1 --data.workers 1
  --train.device cpu --train.progress lines --train.epochs 50 --train.preempt_exit_code "$code")
wrapper() { "$src/launch/train.sh" --bin "$bin" --mpirun "$mpiexec" --gpus-per-node 2 --mpi-arg --oversubscribe "$@"; }
bare() { "$mpiexec" -np 2 --oversubscribe "$bin" train "$@"; }

wait_training() {  # RUN: until a training step has been logged
  for _ in $(seq 1 600); do
    grep -q '"kind":"train"' "runs/$1/metrics.jsonl" 2> /dev/null && return 0
    sleep 0.1
  done
  return 1
}
mpirun_of() { pgrep -f "^$mpiexec .*--train.run_name $1( |$)" | head -1; }
ranks_of() { pgrep -f "^$bin train .*--train.run_name $1( |$)" || true; }
wrapper_of() { pgrep -f "launch/train.sh .*--train.run_name $1( |$)" | head -1; }

check_preempted() {  # RUN RC LOG: the run stopped on a signal, cleanly
  local run=$1 rc=$2 log=$3
  [ "$rc" -eq "$code" ] || { tail -30 "$log"; fail "$run: exit status $rc, expected $code"; }
  grep -q '"status": "preempted"' "runs/$run/summary.json" 2> /dev/null || { tail -30 "$log"; fail "$run: not preempted"; }
  local ckpt
  ckpt=$(readlink -f "runs/$run/checkpoints/last.pt")
  [ -f "$ckpt" ] || fail "$run: no checkpoint"
  (cd "$(dirname "$ckpt")" && sha256sum --quiet -c "$(basename "$ckpt").sha256") || fail "$run: checkpoint damaged"
  ! ls runs/"$run"/checkpoints/.*tmp* > /dev/null 2>&1 || fail "$run: a temporary was left behind"
}

# One case: start a job, wait until it trains, send SIGNAL to TARGET (wrapper | mpirun | ranks), check.
signal_case() {  # NAME LAUNCH(wrapper|bare) TARGET SIGNAL [train options]
  local run=$1 launch=$2 target=$3 sig=$4
  shift 4
  local args=("${opts[@]}" --train.run_name "$run" --train.log_every 1 "$@")
  if [ "$launch" = wrapper ]; then
    wrapper -- "${args[@]}" > "$run.log" 2>&1 &
  else
    bare "${args[@]}" > "$run.log" 2>&1 &
  fi
  local job=$!
  wait_training "$run" || { cat "$run.log"; fail "$run: training never started"; }
  local t0=$SECONDS
  case "$target" in
    wrapper) kill "-$sig" "$(wrapper_of "$run")" ;;
    mpirun) kill "-$sig" "$(mpirun_of "$run")" ;;
    ranks) kill "-$sig" $(ranks_of "$run") ;;
  esac
  local rc=0
  wait "$job" || rc=$?
  check_preempted "$run" "$rc" "$run.log"
  echo "$run: SIG$sig to $target ($launch) -> checkpoint, preempted, exit $rc in $((SECONDS - t0)) s"
}

# The wrapper gives the ranks its grace under Open MPI 4.x (whatever mpirun calls itself in --version).
wrapper --dry-run --grace 40 -- "${opts[@]}" > dry.txt 2>&1
grep -q -- "--mca odls_base_sigkill_timeout 20" dry.txt || { cat dry.txt; fail "the grace is not passed to mpirun"; }

# Through launch/train.sh: signals to the wrapper, and straight to mpirun (Open MPI's kill path: SIGCONT,
# then SIGTERM and SIGKILL after odls_base_sigkill_timeout each), with checkpoints that take 5 s.
signal_case w-term wrapper wrapper TERM --train.fault slowsave@0:5
signal_case w-int wrapper wrapper INT
signal_case m-term wrapper mpirun TERM --train.fault slowsave@0:5
signal_case m-int wrapper mpirun INT
signal_case m-usr2 wrapper mpirun USR2
# Plain mpirun: SIGUSR1/SIGUSR2 are forwarded at once; SIGTERM/SIGINT to the ranks (as srun and Slurm send).
signal_case b-usr1 bare mpirun USR1 --train.fault slowsave@0:3
signal_case b-usr2 bare mpirun USR2
signal_case b-term bare ranks TERM
signal_case b-int bare ranks INT
# The regression of issue 14: SIGTERM to mpirun with a ResNet-50 checkpoint (~190 MB with momentum).
signal_case r50 wrapper mpirun TERM --model.backbone resnet50

# --- a signal in a rank's first moments -------------------------------------------------------------------
# Plain mpirun: a signal is a stop request from the moment the rank catches it, which is once the loader
# has mapped its libraries (~0.3 s after exec), about a second before LibTorch has initialised and main()
# runs. Sent at that moment (the rank's SigCgt mask shows SIGUSR1 caught), not later.
usr1_caught() { [ $((0x$(awk '/^SigCgt/ {print $2}' "/proc/$1/status" 2> /dev/null || echo 0) & 0x200)) -ne 0 ]; }
bare "${opts[@]}" --train.log_every 1 --train.run_name early > early.log 2>&1 &
job=$!
for _ in $(seq 1 2000); do
  pids=$(ranks_of early)
  if [ "$(echo "$pids" | grep -c .)" -eq 2 ]; then
    ready=1
    for p in $pids; do usr1_caught "$p" || ready=0; done
    [ "$ready" -eq 1 ] && break
  fi
  sleep 0.005
done
kill -USR1 $pids
rc=0
wait "$job" || rc=$?
[ "$rc" -eq "$code" ] || { cat early.log; fail "early signal: exit $rc, expected $code"; }
grep -q "before the first step" early.log || { cat early.log; fail "early signal: not recorded as a stop request"; }
grep -q '"status": "preempted"' runs/early/summary.json || fail "early signal: status"
echo "early: SIGUSR1 as soon as the ranks catch it -> stopped before the first step, exit $rc"
# launch/train.sh holds a signal back until its ranks can take it: SIGTERM 0.1 s after the start.
"$src/launch/train.sh" --bin "$bin" --mpirun "$mpiexec" --gpus-per-node 2 --mpi-arg --oversubscribe -- \
  "${opts[@]}" --train.run_name early-w > early-w.log 2>&1 &
job=$!  # the script itself
sleep 0.1
kill -TERM "$job"
rc=0
wait "$job" || rc=$?
[ "$rc" -eq "$code" ] || { cat early-w.log; fail "early signal to launch/train.sh: exit $rc, expected $code"; }
grep -q '"status": "preempted"' runs/early-w/summary.json || fail "early signal to launch/train.sh: status"
echo "early: SIGTERM to launch/train.sh 0.1 s after its start -> preempted, exit $rc"

# --- the run directory's lock --------------------------------------------------------------------------------
bare "${opts[@]}" --train.log_every 1 --train.run_name locked > locked.log 2>&1 &
job=$!
wait_training locked || { cat locked.log; fail "locked: training never started"; }
holder=$(grep '^pid=' runs/locked/.lock | cut -d= -f2)
t0=$SECONDS
if bare "${opts[@]}" --train.log_every 1 --train.run_name locked --train.resume auto > second.log 2>&1; then
  fail "a second job on a run directory in use started"
fi
[ $((SECONDS - t0)) -le 20 ] || fail "the second job took $((SECONDS - t0)) s to fail"
grep -q "is in use by another job (host $(hostname), pid $holder" second.log || { cat second.log; fail "holder not named"; }
echo "lock: second job failed in $((SECONDS - t0)) s naming pid $holder"
kill -USR1 "$(mpirun_of locked)"
rc=0
wait "$job" || rc=$?
check_preempted locked "$rc" locked.log
[ ! -e runs/locked/.lock ] || fail "the lock outlived its job"
# A dead holder: its lock is taken over with a warning, its temporaries removed.
printf 'host=%s\npid=999999\npid_start=1\nstarted=2026-01-01T00:00:00Z\nslurm_job=\nslurm_restart=\ntoken=x\n' \
  "$(hostname)" > runs/locked/.lock
head -c 1000000 /dev/zero > runs/locked/checkpoints/.step-0000000099.pt.tmp-999999
bare "${opts[@]}" --train.log_every 1 --train.run_name locked --train.resume auto --train.max_steps 3 > stale.log 2>&1 ||
  { cat stale.log; fail "a stale lock blocked the run"; }
grep -q "taking over the run lock" stale.log || { cat stale.log; fail "no warning about the stale lock"; }
grep -q "removed 1 temporary file" stale.log || { cat stale.log; fail "the leftover temporary was not removed"; }
[ ! -e runs/locked/checkpoints/.step-0000000099.pt.tmp-999999 ] || fail "temporary still there"
echo "lock: a dead holder's lock taken over, its temporary removed"

# --- ranks of a killed mpirun stop ------------------------------------------------------------------------------
# (no log lines: a rank writing to the dead mpirun's pipe would die of SIGPIPE anyway)
bare "${opts[@]}" --train.run_name orphan --train.log_every 100000 > orphan.log 2>&1 &
job=$!
for _ in $(seq 1 600); do [ -f runs/orphan/config.ini ] && break; sleep 0.1; done
sleep 3
pids=$(ranks_of orphan)
kill -KILL "$(mpirun_of orphan)"
wait "$job" 2> /dev/null || true
t0=$(date +%s%N)
for _ in $(seq 1 50); do
  alive=0
  for p in $pids; do kill -0 "$p" 2> /dev/null && alive=1; done
  [ "$alive" -eq 0 ] && break
  sleep 0.1
done
[ "$alive" -eq 0 ] || fail "ranks still running 5 s after their mpirun was killed"
echo "orphans: both ranks gone $((($(date +%s%N) - t0) / 1000000)) ms after mpirun was killed"
# --- a stopped rank is named by the watchdog of the others (heartbeats in the run directory) -----------------------
bare "${opts[@]}" --train.log_every 1 --train.run_name stopped --train.timeout_s 5 --train.startup_timeout_s 5 \
  > stopped.log 2>&1 &
job=$!
wait_training stopped || { cat stopped.log; fail "stopped: training never started"; }
sleep 1
victim=$(pgrep -f "^$bin train .*--train.run_name stopped( |$)" | tail -1)
kill -STOP "$victim"
t0=$SECONDS
rc=0
timeout 60 tail --pid="$job" -f /dev/null || true
wait "$job" || rc=$?
[ "$rc" -ne 0 ] || fail "stopped: the job with a stopped rank exited 0"
grep -Eq "rank [0-9]+ \(pid $victim, host [^)]*\) stopped reporting [0-9]+ s ago" stopped.log ||
  { cat stopped.log; fail "stopped: the watchdog did not name the stopped rank (pid $victim)"; }
kill -KILL "$victim" 2> /dev/null || true
echo "hang: a SIGSTOPped rank (pid $victim) named by its peers' watchdog; the job ended in $((SECONDS - t0)) s"
echo "signals: passed"
