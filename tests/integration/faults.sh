#!/usr/bin/env bash
# Randomized fault run (docs/reliability.md): a short training run is interrupted at random moments — a random
# rank SIGKILLed, mpirun SIGKILLed, or mpirun asked to stop (SIGUSR1) — and resumed with --train.resume auto
# until it completes, in several trials. Every trial must end with weights bit-identical to the same run
# without interruptions; every interrupted job must end within the bound; no temporary file may pile up in the
# run directory (the interrupted attempts write slow checkpoints, so kills often land inside a write: each resume
# removes what the killed writer left); metrics.jsonl and epochs.csv must hold each step and epoch once.
# Prints one line per event and a summary that docs/reliability.md records.
# Usage: faults.sh WISESR_BIN MPIEXEC PYTHON [TRIALS] [SEED]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=$1
mpiexec=$2
python=$3
trials=${4:-4}
seed=${5:-$RANDOM}
work=$(mktemp -d "${TMPDIR:-/tmp}/wisesr-faults-XXXXXX")
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
"$python" -c "import torch" 2> /dev/null || fail "$python has no torch (run ./launch/setup.sh)"
RANDOM=$seed
echo "faults: $trials trial(s), seed $seed"

"$bin" synth --out images --classes 3 --per-class 40 --size 32 --seed 5 > /dev/null
"$bin" prep --input images --out shards --size 32 --val-fraction 0.1 --shard-records 32 > /dev/null
# 4 epochs of 27 steps; a checkpoint every 10 steps and at every epoch end.
opts=(--data.dir "$work/shards" --train.out_dir "$work/runs" --train.batch_size 2 --train.threads 1 --data.workers 1
  --train.device cpu --train.log_every 5 --train.progress lines --train.epochs 4 --train.checkpoint_every 10
  --train.seed 9 --train.timeout_s 20)
run() { "$mpiexec" -np 2 --oversubscribe "$bin" train "${opts[@]}" "$@"; }

start=$SECONDS
run --train.run_name reference > reference.log 2>&1 || { cat reference.log; fail "the reference run failed"; }
reference_s=$((SECONDS - start))
"$bin" export --checkpoint runs/reference/checkpoints/last.pt --out reference.pt > /dev/null
echo "reference: 4 epochs in ${reference_s} s"

kills=0 preempts=0 worst_exit=0
for t in $(seq 1 "$trials"); do
  name=trial-$t
  attempts=0
  while :; do
    attempts=$((attempts + 1))
    [ "$attempts" -le 8 ] || fail "$name: not completed after 8 attempts"
    # Interrupted attempts write slow checkpoints (1 s more each), so kills often land inside a write.
    extra=()
    [ "$attempts" -le 3 ] && extra=(--train.fault slowsave@0:1)
    run --train.run_name "$name" --train.resume auto "${extra[@]}" > "$name-$attempts.log" 2>&1 &
    job=$!
    # Interrupt the first three attempts somewhere in their first 1-6 s (start-up included); let the rest run.
    if [ "$attempts" -le 3 ]; then
      sleep "$((1 + RANDOM % 5)).$((RANDOM % 10))"
      kind=$((RANDOM % 3))
      t0=$(date +%s%N)
      case $kind in
        0)
          what="a rank SIGKILLed"
          mapfile -t ranks < <(pgrep -f "^$bin train .*--train.run_name $name( |$)" || true)
          victim=""
          [ "${#ranks[@]}" -gt 0 ] && victim=${ranks[RANDOM % ${#ranks[@]}]}
          ;;
        1) what="mpirun SIGKILLed"; victim=$(pgrep -f "^$mpiexec .*--train.run_name $name( |$)" | head -1) ;;
        2) what="mpirun told to stop (SIGUSR1)"; victim=$(pgrep -f "^$mpiexec .*--train.run_name $name( |$)" | head -1) ;;
      esac
      if [ -n "${victim:-}" ] && kill -0 "$victim" 2> /dev/null; then
        # The victim may end on its own between the check and the signal (a job that failed at its start):
        # that is no reason to stop here; the attempt is then judged like any other below.
        if [ "$kind" -eq 2 ]; then sig=USR1; else sig=KILL; fi
        delivered=1
        kill "-$sig" "$victim" 2> /dev/null || { delivered=0; what="$what (it had already ended)"; }
        rc=0
        wait "$job" || rc=$?
        # Every process of the job gone: the ranks of a killed mpirun end themselves.
        for _ in $(seq 1 100); do
          pgrep -f "^$bin train .*--train.run_name $name( |$)" > /dev/null || break
          sleep 0.1
        done
        pgrep -f "^$bin train .*--train.run_name $name( |$)" > /dev/null && fail "$name: ranks still alive 10 s after: $what"
        took_ms=$((($(date +%s%N) - t0) / 1000000))
        [ "$took_ms" -le 30000 ] || fail "$name: the job took $took_ms ms to end after: $what"
        [ "$took_ms" -gt "$worst_exit" ] && worst_exit=$took_ms
        if [ "$kind" -eq 2 ]; then
          preempts=$((preempts + 1))
          [ "$rc" -eq 0 ] || [ "$delivered" -eq 0 ] || { cat "$name-$attempts.log"; fail "$name: a stop request ended with status $rc"; }
        else
          kills=$((kills + 1))
        fi
        temporaries=$(find "runs/$name" -name '.*.tmp-*' 2> /dev/null | wc -l || true)
        echo "$name attempt $attempts: $what -> job ended in $took_ms ms (status $rc, $temporaries temporary file(s) left)"
        continue
      fi
    fi
    rc=0
    wait "$job" || rc=$?
    if [ "$rc" -eq 0 ] && grep -q '"status": "completed"' "runs/$name/summary.json" 2> /dev/null; then break; fi
    # Nothing interrupted this attempt: it must resume what the killed ones left and complete.
    tail -20 "$name-$attempts.log"
    fail "$name attempt $attempts: not interrupted, yet it ended with status $rc before completing"
  done
  # Temporaries of killed writers were removed by each resume; none pile up.
  left=$(find "runs/$name" -name '.*.tmp-*' | wc -l)
  [ "$left" -eq 0 ] || { find "runs/$name" -name '.*.tmp-*'; fail "$name: $left temporary file(s) left in the run directory"; }
  "$bin" export --checkpoint "runs/$name/checkpoints/last.pt" --out "$name.pt" > /dev/null
  "$python" - reference.pt "$name.pt" << 'PY' || fail "$name: the interrupted run's weights differ from the reference"
import sys, torch
a, b = torch.load(sys.argv[1]), torch.load(sys.argv[2])
diff = [k for k in a if not torch.equal(a[k], b[k])]
assert a.keys() == b.keys() and not diff, f"{len(diff)} tensors differ, e.g. {diff[:3]}"
PY
  # Each step and epoch recorded once (the steps rerun after a resume replace the killed attempts' records).
  "$python" "$here/check_metrics.py" "runs/$name" 4 "$name" > /dev/null ||
    fail "$name: metrics.jsonl or epochs.csv repeat or miss records"
  echo "$name: completed after $attempts attempt(s); weights bit-identical to the reference, each step recorded once"
done
echo "faults: $trials trial(s), $kills kill(s), $preempts stop request(s): every trial completed bit-identical," \
  "slowest end of an interrupted job $worst_exit ms, no temporary left (seed $seed)"
