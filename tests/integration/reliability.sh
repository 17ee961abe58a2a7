#!/usr/bin/env bash
# Issue 15 ("no silent damage") end to end, under a real mpirun with 2 CPU ranks (docs/reliability.md):
#  F3  a resume that changes what the experiment is (head, lr, seed) fails listing every difference and
#      leaves the run's files as they were; allowed changes (epochs) are recorded in config-history/;
#      --train.resume_force goes on and says so;
#  F4  a resume at or past --train.epochs is a no-op: exit 0, the summary keeps the checkpoint;
#  F10 after resumes, metrics.jsonl and epochs.csv hold each step and epoch once;
#  F2  a full disk (a small tmpfs; skipped where none can be mounted) during a checkpoint, during the
#      start-up writes (lock, config.ini, config-history, epochs.csv, metrics.jsonl), for summary.json
#      (written last), for eval --json and for export: one error line naming the file and "disk full", no stack trace, no temporary left, every
#      rank gone, and the previous checkpoint still resumes.
# Usage: reliability.sh WISESR_BIN MPIEXEC
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=$1
mpiexec=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/wisesr-reliability-XXXXXX")
mounts=()
cleanup() {
  for m in "${mounts[@]}"; do umount "$m" 2> /dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fail() {
  echo "FAIL: $*"
  exit 1
}

"$bin" synth --out images --classes 3 --per-class 40 --size 32 --seed 5 > /dev/null
"$bin" prep --input images --out shards --size 32 --val-fraction 0.1 --shard-records 32 > /dev/null

train() {  # train OUT_DIR RUN_NAME [extra options...]
  local out=$1 run=$2
  shift 2
  "$mpiexec" -np 2 --oversubscribe "$bin" train --data.dir shards --train.out_dir "$out" --train.run_name "$run" \
    --train.batch_size 2 --train.threads 1 --data.workers 1 --train.device cpu --train.log_every 5 \
    --train.progress lines "$@"
}

# Checks that the job's output has exactly one error (the same line from several ranks counts once: a
# dataset every rank checks), that it matches PATTERN, and that nothing crashed: no std::terminate, abort or
# signal.
one_clean_error() {  # LOG PATTERN WHAT
  local n
  n=$(grep "error: " "$1" | sed 's/^\[rank [0-9]*\] //' | sort -u | wc -l)
  [ "$n" -eq 1 ] || { cat "$1"; fail "$3: $n error lines, expected 1"; }
  grep -E "error: " "$1" | grep -Eq "$2" || { cat "$1"; fail "$3: the error does not match '$2'"; }
  if grep -Eq "terminate called|Aborted|Segmentation|core dumped|what\(\)|exited on signal" "$1"; then
    cat "$1"
    fail "$3: crashed instead of failing cleanly"
  fi
}

no_temporaries() {  # DIR WHAT
  local left
  left=$(find "$1" -name '.*.tmp-*' 2> /dev/null | wc -l)
  [ "$left" -eq 0 ] || { find "$1" -name '.*.tmp-*'; fail "$2: $left temporary file(s) left"; }
}

no_ranks_left() {  # RUN_NAME WHAT
  sleep 0.5
  if pgrep -f "$bin train .*--train.run_name $1( |$)" > /dev/null; then fail "$2: ranks still running"; fi
}

# Each step once, in order; each of the epochs 1..N once, complete (metrics.jsonl and epochs.csv).
metrics_exact() {  # RUN_DIR EPOCHS WHAT
  python3 "$here/check_metrics.py" "$@"
}

# --- F3: resume checked against what was run -------------------------------------------------------
train runs r --train.epochs 2 --train.checkpoint_every 10 > r1.log 2>&1 || { cat r1.log; fail "first run failed"; }
cp runs/r/config.ini config.before
rc=0
train runs r --train.resume auto --train.epochs 3 --model.head wise-dropout --optim.lr 0.5 --train.seed 7 \
  > changed.log 2>&1 || rc=$?
[ "$rc" -ne 0 ] || { cat changed.log; fail "a resume with another head, lr and seed was accepted"; }
one_clean_error changed.log "is another experiment: model.head: wise -> wise-dropout; optim.lr: 0.045 -> 0.5; train.seed: 42 -> 7" \
  "changed resume"
cmp -s config.before runs/r/config.ini || fail "a refused resume changed config.ini"
[ "$(ls runs/r/config-history)" = "001.ini" ] || fail "a refused resume was recorded: $(ls runs/r/config-history)"
echo "F3: a resume with another head, lr and seed is refused, listing all three"

train runs r --train.resume auto --train.epochs 3 > extend.log 2>&1 || { cat extend.log; fail "extending failed"; }
grep -q "resume changes train.epochs: 2 -> 3" extend.log || { cat extend.log; fail "the allowed change is not logged"; }
grep -q "^# changed train.epochs: 2 -> 3$" runs/r/config-history/002.ini || fail "002.ini does not record the change"
grep -q "^epochs = 3$" runs/r/config.ini || fail "config.ini is not this start's"
grep -q "^epochs = 2$" runs/r/config-history/001.ini || fail "001.ini lost the first start's config"
metrics_exact runs/r 3 "F10 extended run"

train runs r --train.resume auto --train.epochs 4 --optim.lr 0.04 --train.resume_force true > force.log 2>&1 \
  || { cat force.log; fail "--train.resume_force did not resume"; }
grep -q "resume_force: resuming although .*optim.lr: 0.045 -> 0.04" force.log || { cat force.log; fail "no force warning"; }
grep -q "^# changed optim.lr: 0.045 -> 0.04 (forced)$" runs/r/config-history/003.ini || fail "003.ini lacks the forced change"
metrics_exact runs/r 4 "F10 forced run"
echo "F3: allowed and forced changes are logged and kept in config-history/ (001-003.ini)"

# --- the run directory: a bad dataset leaves none; a failed start's may be reused; a real run's not ------
rc=0
train runs bad --train.epochs 1 --data.train_split nosuch > bad.log 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "training on a split that does not exist exited 0"
one_clean_error bad.log "no split 'nosuch'" "a missing split"
[ ! -e runs/bad ] || fail "a run refused for its dataset left runs/bad behind"
mkdir -p runs/leftover/checkpoints
echo '{"kind":"train","step":3}' > runs/leftover/metrics.jsonl
train runs leftover --train.max_steps 2 > leftover.log 2>&1 || { cat leftover.log; fail "a failed start's run directory could not be reused"; }
rc=0
train runs r --train.epochs 1 > again.log 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a fresh start in a trained run directory was accepted"
one_clean_error again.log "run directory '.*/r' already exists" "a fresh start over a run"
echo "run directory: none left by a refused dataset; a failed start's reused; a trained one protected"

# --- F4: resuming past the end is a no-op that keeps the checkpoint --------------------------------
train runs r --train.resume auto --train.epochs 2 --optim.lr 0.04 > past.log 2>&1 || { cat past.log; fail "past-the-end resume failed"; }
grep -q "nothing left to train" past.log || { cat past.log; fail "the no-op is not said"; }
python3 - << 'PY' || fail "past-the-end summary"
import json
s = json.load(open("runs/r/summary.json"))
assert s["status"] == "completed" and s["checkpoint"].endswith(".pt"), s
PY
metrics_exact runs/r 4 "F4 no-op resume"
echo "F4: a resume past --train.epochs exits 0 and keeps the summary's checkpoint"

# --- F10: after kills at random moments, each step once ---------------------------------------------
for t in 1 2 3; do
  train runs k$t --train.epochs 3 --train.checkpoint_every 7 --train.resume auto > k$t-1.log 2>&1 &
  job=$!
  sleep "$((2 + RANDOM % 3)).$((RANDOM % 10))"
  pkill -KILL -f "$bin train .*--train.run_name k$t( |$)" || true
  wait "$job" || true
  no_ranks_left k$t "killed run $t"
  train runs k$t --train.epochs 3 --train.checkpoint_every 7 --train.resume auto > k$t-2.log 2>&1 \
    || { cat k$t-2.log; fail "resume after a kill failed"; }
  metrics_exact runs/k$t 3 "F10 killed run $t"
done

# --- F2: a full disk ------------------------------------------------------------------------------
small() {  # small DIR SIZE: mount a tmpfs of SIZE at DIR
  mkdir -p "$1"
  mount -t tmpfs -o "size=$2" tmpfs "$1" 2> /dev/null || return 1
  mounts+=("$1")
}
if ! small probe 64k; then
  echo "SKIP (full disk only): cannot mount a small tmpfs here"
  exit 0
fi
umount probe

# A checkpoint that does not fit: the first one (step 10) does, the second (step 20) does not.
ckpt_bytes=$(stat -c %s "$(readlink -f runs/r/checkpoints/last.pt)")
small ckfs "$((ckpt_bytes * 3 / 2 + 262144))"
rc=0
train ckfs c --train.epochs 2 --train.checkpoint_every 10 --train.keep_checkpoints 3 > ck.log 2>&1 || rc=$?
[ "$rc" -ne 0 ] || { cat ck.log; fail "training went on with a full disk"; }
one_clean_error ck.log "cannot write checkpoint '.*step-0+20\.pt'.*No space left on device \(disk full\)" "full disk at a checkpoint"
no_temporaries ckfs "full disk at a checkpoint"
no_ranks_left c "full disk at a checkpoint"
mount -o remount,size=64m ckfs
train ckfs c --train.epochs 2 --train.checkpoint_every 10 --train.resume auto > ck2.log 2>&1 \
  || { cat ck2.log; fail "no resume after the disk was freed"; }
grep -q "resuming from .*step-0000000010.pt" ck2.log || { cat ck2.log; fail "did not resume from the step-10 checkpoint"; }
echo "F2: a checkpoint on a full disk fails in one line, leaves nothing, and the previous one resumes"

# Start-up writes on a disk with room for 0..6 pages: each attempt fails cleanly, naming what it wrote.
for pages in 0 1 2 3 4 5 6; do
  small "p$pages" "$((pages * 4096 + 4096))"
  head -c 4096 /dev/zero > "p$pages/filler" 2> /dev/null || true  # the first page: tmpfs rounds sizes up
  rc=0
  train "p$pages" s$pages --train.epochs 1 > "p$pages.log" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] || { cat "p$pages.log"; fail "a run fit in $pages page(s)"; }
  one_clean_error "p$pages.log" "'([^']*/)?p$pages/[^']*'.*No space left on device \(disk full\)" "$pages free page(s)"
  no_temporaries "p$pages" "$pages free page(s)"
  no_ranks_left s$pages "$pages free page(s)"
  echo "F2: $pages free page(s): $(grep -o "error: .*" "p$pages.log" | cut -c1-110)"
  umount "p$pages"
done

# summary.json on a full disk: while the run's last checkpoint is held before its commit (slowsave), the disk
# is filled to one free page; the checkpoint's sidecar takes it, so summary.json, written last, cannot be.
small sumfs 64m
train sumfs sm --train.epochs 1 --train.eval_each_epoch false --train.fault slowsave@0:4 > sm.log 2>&1 &
job=$!
for _ in $(seq 1 600); do
  compgen -G "sumfs/sm/checkpoints/.step-*.tmp-*" > /dev/null && break
  sleep 0.1
done
compgen -G "sumfs/sm/checkpoints/.step-*.tmp-*" > /dev/null || { cat sm.log; fail "the last checkpoint never started"; }
sleep 1  # written and hashed well within the 4 s it is held
avail=$(df -B1 --output=avail sumfs | tail -1)
head -c "$((avail - 4096))" /dev/zero > sumfs/filler 2> /dev/null || true
rc=0
wait "$job" || rc=$?
[ "$rc" -ne 0 ] || { cat sm.log; fail "a run whose summary.json cannot be written exited 0"; }
# A heartbeat rewrite can take the free page for a moment; then the sidecar is what fails (also cleanly).
one_clean_error sm.log "cannot write '([^']*/)?sm/(summary\.json|checkpoints/step-0+27\.pt\.sha256)': No space left on device \(disk full\)" \
  "summary.json on a full disk"
no_temporaries sumfs "summary.json on a full disk"
no_ranks_left sm "summary.json on a full disk"
test -s sumfs/sm/checkpoints/step-0000000027.pt || fail "the last checkpoint was lost with summary.json"
echo "F2: $(grep -o "error: cannot write '[^']*'" sm.log | sed "s|.*/||; s|'||") on a full disk: one line, nothing left, the checkpoint kept"

# eval --json and export on a full disk.
small full 64k
cat /dev/zero > full/filler 2> /dev/null || true
ckpt=runs/r/checkpoints/last.pt
rc=0
"$mpiexec" -np 1 "$bin" eval --checkpoint "$ckpt" --data.dir shards --json full/eval.json --train.threads 1 \
  > eval.log 2>&1 || rc=$?
[ "$rc" -ne 0 ] || { cat eval.log; fail "eval --json on a full disk exited 0"; }
one_clean_error eval.log "cannot write '([^']*/)?full/eval.json': No space left on device \(disk full\)" "eval --json"
rc=0
"$bin" export --checkpoint "$ckpt" --out full/w.pt > export.log 2>&1 || rc=$?
[ "$rc" -ne 0 ] || { cat export.log; fail "export on a full disk exited 0"; }
one_clean_error export.log "cannot write '([^']*/)?full/w.pt': No space left on device \(disk full\)" "export"
no_temporaries full "eval/export on a full disk"
echo "F2: eval --json and export on a full disk fail in one line naming the file"
echo "reliability: all checks passed"
