#!/usr/bin/env bash
# docs/imagenet.md, the ImageNet run book, run as written: its ```sh runbook NAME blocks, in order, in one shell
# in the source tree (as users run them from the checkout), with only the variables of its `settings` block
# pointed at a tiny stand-in:
#  - ImageNet-1k as image-net.org ships it: tests/integration/make_layouts.py's devkit case (train/<wnid>/,
#    flat val/ + the devkit's ground truth) without its text synset mapping, 32 px;
#  - CONFIG a CPU config of resnet-tiny (TRAIN_ARGS makes it $RUNBOOK_EPOCHS epochs), bench sizes through BENCH_MODEL/ARGS;
#  - the sbatch/srun steps on a real two-node Slurm on 127.0.0.1 (tests/cluster/slurm_cluster.sh), one or two
#    CPU tasks per "node", Open MPI over loopback TCP.
# Between blocks the test waits where the page tells the reader to wait (a job to end, training to start), and
# after each block checks its outcome: shards + verify, bench JSON, a plan with time and cost, jobs COMPLETED,
# a preempted run requeued and resumed, eval JSON with top-1 over every val record, the report table.
# A failing command in a block fails the test (set -e), naming the block.
# Usage: runbook.sh WISESR_BIN PYTHON SOURCE_DIR   (exit 77 = skipped: no Slurm, or PYTHON lacks numpy/Pillow)
set -euo pipefail
bin=$1
py=$2
src=$3
for tool in slurmctld slurmd sbatch srun squeue scontrol scancel sinfo mpirun; do
  command -v "$tool" > /dev/null || { echo "SKIP: $tool not found (./launch/setup.sh installs Slurm and Open MPI)"; exit 77; }
done
"$py" -c "import numpy, PIL" 2> /dev/null || { echo "SKIP: $py lacks numpy/Pillow (launch/setup.sh installs them)"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/wisesr-runbook-XXXXXX")
source "$src/tests/cluster/slurm_cluster.sh"
block=""
started=$SECONDS
cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    [ -n "$block" ] && { echo "FAIL: run book block '$block' (docs/imagenet.md), its output:"; tail -n 40 "$work/blocks/$block.log" 2> /dev/null || true; }
    for f in "$work"/runs/logs/*.out; do [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }; done
    tail -n 20 "$work"/slurm/log/slurmctld.log 2> /dev/null || true
  fi
  # The jobs of this test's cluster (SLURM_CONF points at it) first, then its daemons, by PID.
  if [ -n "${SLURM_CONF:-}" ]; then
    local jobs
    jobs=$(squeue -h -o %i 2> /dev/null || true)
    if [ -n "$jobs" ]; then
      scancel $jobs 2> /dev/null || true
      for _ in $(seq 1 40); do [ -z "$(squeue -h -o %i 2> /dev/null)" ] && break; sleep 0.5; done
    fi
  fi
  slurm_cluster_down
  [ -n "${KEEP:-}" ] || rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  exit 1
}

# --- the stand-in -------------------------------------------------------------------------------------------
cd "$work"
"$py" "$src/tests/integration/make_layouts.py" "$work/layouts" > layouts.json
# image-net.org's download has no text mapping from ILSVRC2012_ID to wnid (only meta.mat): the run book makes one.
rm "$work/layouts/imagenet_devkit/LOC_synset_mapping.txt"
cat > tiny.cfg << 'EOF'
# The stand-in's CONFIG: the keys a run book user changes for ImageNet live in configs/imagenet/*.cfg.
[data]
image_size = 32
workers = 1
augment = none
verify = full
[model]
backbone = resnet-tiny
head = wise
[train]
epochs = 2
batch_size = 2
threads = 1
device = cpu
log_every = 1
seed = 3
EOF

# Up to 3 tries: a port found free can be taken by another process before slurmd binds it.
for try in 1 2 3; do
  rm -rf "$work/slurm"
  slurm_cluster_up "$work/slurm" && break
  slurm_cluster_down
  [ "$try" -lt 3 ] || fail "the Slurm cluster did not start"
  echo "the Slurm cluster did not start (try $try); again on other ports"
done
# Open MPI inside the jobs: both "nodes" are this host, so no shared memory between them and all traffic on
# loopback; a private session directory (as tests/cluster/slurm.sh).
mkdir -p "$work/tmp"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,tcp \
  OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo TMPDIR=$work/tmp

# --- the run book's blocks ----------------------------------------------------------------------------------
mkdir -p blocks
python3 - "$src/docs/imagenet.md" blocks > blocks/order << 'PY'
import re, sys
text, out = open(sys.argv[1]).read(), sys.argv[2]
for name, body in re.findall(r"^```sh runbook ([a-z-]+)\n(.*?)^```$", text, re.M | re.S):
    open(f"{out}/{name}.sh", "w").write(body)
    print(name)
PY
expected="settings synsets prep-dry-run prep prep-direct verify bench-train bench-comm bench-data plan train monitor preempt resumed eval report"
[ "$(tr '\n' ' ' < blocks/order)" = "$expected " ] ||
  fail "docs/imagenet.md's run book blocks are '$(tr '\n' ' ' < blocks/order)', this test checks '$expected'"

# The settings, pointed at the stand-in: every variable the page sets, and no other. The runs last long
# enough (~6 s) that the preemption block's signal lands mid-run: launch/train.sh holds a signal until the
# ranks are 2 s old, and at 40 epochs the rerun had only ~1.4 s of training left after it.
export RUNBOOK_EPOCHS=120
declare -A vars=(
  [IMAGENET]=$work/layouts/imagenet_devkit [SHARDS]=$work/shards [RUNS]=$work/runs [WISESR]=$bin
  [CONFIG]=$work/tiny.cfg [SIZE]=32 [TRAIN_ARGS]="--train.epochs $RUNBOOK_EPOCHS"
  [BENCH_MODEL]="--model.backbone resnet-tiny --model.pool 0 --classes 3 --data.image_size 32 --train.batch_size 2"
  [BENCH_ARGS]="--steps 3 --warmup 1 --breakdown-steps 1 --train.threads 1" [DEVICE]=cpu [COMM_SIZES]=64K,1M
  [GPU_HOUR]=3.1 [GPUS]=1,2,4 [GPUS_PER_NODE]=2 [CORES_PER_NODE]=2
  [ONE_GPU]="--nodes=1 --ntasks=1 --cpus-per-task=1 --gpus-per-node=0 --time=5"
  [ONE_NODE]="--nodes=1 --ntasks-per-node=2 --cpus-per-task=1 --gpus-per-node=0 --time=5"
  [TWO_NODES]="--nodes=2 --ntasks-per-node=2 --cpus-per-task=1 --gpus-per-node=0 --time=5"
  [TRAIN_NODES]="--nodes=2 --ntasks-per-node=1 --cpus-per-task=1 --gpus-per-node=0 --time=10"
)
page_vars=$(grep -oE '^[A-Z_]+=\$\{[A-Z_]+:-' blocks/settings.sh | cut -d= -f1 | sort | tr '\n' ' ')
test_vars=$(printf '%s\n' "${!vars[@]}" | sort | tr '\n' ' ')
[ "$page_vars" = "$test_vars" ] || fail "the settings block sets '$page_vars'; this test sets '$test_vars'"
for v in "${!vars[@]}"; do printf -v "$v" '%s' "${vars[$v]}"; done

json() { "$py" -c "import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {'d': d}))" "$@"; }
job_state() { slurm_job_state "$1"; }
restarts() { scontrol -o show job "$1" | grep -o 'Restarts=[0-9]*' | cut -d= -f2; }
wait_done() {  # JOB: wait for it to end, require COMPLETED
  local state
  state=$(slurm_wait_job "$1" 300 COMPLETED FAILED CANCELLED TIMEOUT) || fail "job $1: $state after 300 s"
  [ "$state" = COMPLETED ] || fail "job $1 ended $state"
}
log_has() { grep -q -- "$1" "blocks/$block.log" || fail "no '$1' in the output of block $block"; }

# Checks: before_NAME runs before the block (waits the page asks the reader for), after_NAME after it.
after_settings() { [ -d "$RUNS/logs" ] && [ -d "$RUNS/bench" ] || fail "no $RUNS/logs and bench"; }
after_synsets() { [ "$(cat "$IMAGENET/synsets.txt")" = "$(printf 'n01440764\nn01443537\nn02105855')" ] || fail "synsets.txt"; }
after_prep_dry_run() {
  log_has "labelled by '.*ILSVRC2012_validation_ground_truth.txt' through '.*synsets.txt'"
  log_has "^total  *11  *7$"
  log_has "expected size"
  [ ! -e "$SHARDS" ] || fail "--dry-run wrote $SHARDS"
}
after_prep() {
  wait_done "$JOB_PREP"
  grep -q "intact: 18 records" "$RUNS/logs/wisesr-prep-$JOB_PREP.out" || fail "prep.sbatch's verify did not pass"
}
after_prep_direct() {  # run instead of the job (below): the same shards, byte for byte
  log_has "prepared 11 train + 7 val records of 3 classes"
  [ "$(json "$work/shards-direct/index.json" 'd["splits"]')" = "$(json "$SHARDS/index.json" 'd["splits"]')" ] ||
    fail "prep run directly wrote other shards than prep.sbatch"
}
after_verify() {
  log_has "intact: 18 records in '$SHARDS'"
  log_has "3 classes; train: 11 records, val: 7 records"
}
after_bench_train() {
  local head
  for head in wise gap; do
    [ "$(json "$RUNS/bench/train-$head.json" 'd["head"], d["model"], d["image_size"], d["img_per_s"] > 0')" = \
      "('$head', 'resnet-tiny', 32, True)" ] || fail "bench train JSON of $head"
  done
}
after_bench_comm() {
  [ "$(json "$RUNS/bench/comm-1node.json" 'd["ranks"]')" = 2 ] || fail "bench comm within a node: not 2 ranks"
  [ "$(json "$RUNS/bench/comm-2nodes.json" 'd["ranks"]')" = 4 ] || fail "bench comm across nodes: not 4 ranks"
  [ "$(grep -c ' 0$' "blocks/$block.log")" -eq 4 ] || fail "bench comm: not 2 x 2 sizes without a wrong result"
}
after_bench_data() { [ "$(json "$RUNS/bench/data.json" 'd["out_size"]')" = 32 ] || fail "bench data JSON"; }
after_plan() {
  local head
  for head in wise gap; do
    # Every bench file used and named; time and cost on each GPU count; the price given, not assumed.
    "$py" - "$RUNS/plan-$head.json" "$RUNS/bench" << 'PY' || fail "plan of $head"
import json, os, sys
p, bench = json.load(open(sys.argv[1])), sys.argv[2]
i = p["inputs"]
assert i["step_ms"]["source"] == "measured" and "train-" in i["step_ms"]["from"], i["step_ms"]
assert i["nvlink_busbw"]["source"] == "measured" and "comm-1node" in i["nvlink_busbw"]["from"], i["nvlink_busbw"]
assert i["ib_busbw"]["source"] == "measured" and "comm-2nodes" in i["ib_busbw"]["from"], i["ib_busbw"]
assert i["decode_per_core"]["source"] == "measured", i["decode_per_core"]
assert i["gpu_hour_cost"]["value"] == 3.1 and i["gpu_hour_cost"]["source"] == "given", i["gpu_hour_cost"]
assert [r["gpus"] for r in p["rows"]] == [1, 2, 4], p["rows"]
epochs = int(os.environ["RUNBOOK_EPOCHS"])
for r in p["rows"]:  # the epochs of TRAIN_ARGS, of 11 images at 2 per GPU
    assert r["steps"] == epochs * (11 // (2 * r["gpus"])) and r["wall_s"] > 0 and r["cost_usd"] > 0, r
PY
  done
  log_has "| wall (h) | GPU-hours | cost (USD) |"
  [ "$(grep -c '^| [124] |' "blocks/$block.log")" -eq 6 ] || fail "plan: not 3 rows per head"
}
after_train() {
  # The page: "the log's first lines ...; then one line every log_every steps": wait until the wise run trains
  # and has finished an epoch (epochs.csv), as a reader looking at it would.
  for _ in $(seq 1 600); do
    [ -s "$RUNS/$RUN_WISE/epochs.csv" ] && [ "$(wc -l < "$RUNS/$RUN_WISE/epochs.csv")" -ge 2 ] && break
    sleep 0.2
  done
  [ "$(wc -l < "$RUNS/$RUN_WISE/epochs.csv" 2> /dev/null || echo 0)" -ge 2 ] || fail "the wise run never finished an epoch"
}
after_monitor() {
  log_has " r50-wise .* R "  # squeue: running (the name cut to 8 characters)
  log_has "^epoch [0-9]*/$RUNBOOK_EPOCHS step"
  log_has '"kind":"'
  # epochs.csv's rows (epoch, step = 2 per epoch, lr): which epochs the tail shows depends on how far it got
  log_has "^[1-9][0-9]*,[1-9][0-9]*,0\.0[0-9]*,"
}
after_preempt() {
  # The page: "after a minute or so": the requeue (Restarts=1), then the rerun to its end.
  for _ in $(seq 1 600); do
    [ "$(restarts "$JOB_WISE")" -ge 1 ] && break
    sleep 0.5
  done
  [ "$(restarts "$JOB_WISE")" -eq 1 ] || fail "job $JOB_WISE was not requeued after SIGUSR1"
  wait_done "$JOB_WISE"
  wait_done "$JOB_GAP"
}
after_resumed() {
  log_has "SIGUSR1 received: asking the ranks to checkpoint and stop"
  log_has "training exited with status 75 (preempted)"
  log_has "preempted after a checkpoint: requeueing job $JOB_WISE"
  log_has "restart 1"
  log_has "resuming from .*checkpoints/step-"
  log_has "Restarts=1"
  "$py" - "$RUNS" "$RUN_WISE" "$RUN_GAP" << 'PY' || fail "the runs did not complete as planned"
import json, os, sys
w, g = (json.load(open(f"{sys.argv[1]}/{n}/summary.json")) for n in sys.argv[2:])
assert w["status"] == g["status"] == "completed", (w["status"], g["status"])
assert w["resumed_from_step"] > 0 and g["resumed_from_step"] == -1, (w["resumed_from_step"], g["resumed_from_step"])
# TRAIN_ARGS reached both runs: RUNBOOK_EPOCHS epochs x (11 // global batch 4) steps, 2 ranks.
assert w["steps"] == g["steps"] == 2 * int(os.environ["RUNBOOK_EPOCHS"]) and w["ranks"] == g["ranks"] == 2, (w, g)
assert (w["head"], g["head"]) == ("wise", "gap"), (w["head"], g["head"])
PY
}
after_eval() {
  local run
  for run in "$RUN_WISE" "$RUN_GAP"; do
    [ "$(json "$RUNS/$run/eval-val.json" 'd["samples"], 0 <= d["top1"] <= d["top5"] <= 1')" = "(7, True)" ] ||
      fail "eval of $run: not every val record once, or no top-1/top-5"
  done
  log_has "$RUN_WISE/eval-val.json 7 samples: top-1"
}
after_report() {
  log_has "^| $RUN_GAP | gap | "
  log_has "^| $RUN_WISE | wise | "
  log_has "^wise - gap top-1: [+-][0-9.]* points"
  log_has "^configs differ in: model.head: gap -> wise; train.run_name: $RUN_GAP -> $RUN_WISE$"
  "$py" - "$RUNS/$RUN_WISE/eval-val.json" "blocks/$block.log" "$RUN_WISE" << 'PY' || fail "the report's wise row is not its eval"
import json, sys
e = json.load(open(sys.argv[1]))
row = next(l for l in open(sys.argv[2]) if l.startswith(f"| {sys.argv[3]} |")).split("|")
assert float(row[4]) == round(e["top1"], 4) and float(row[5]) == round(e["top5"], 4), (row, e)
PY
}

# Blocks the page offers instead of the one before them run in a subshell, writing elsewhere.
declare -A alternative=([prep-direct]="SHARDS=$work/shards-direct")
mapfile -t order < "$work/blocks/order"
for block in "${order[@]}"; do
  cd "$src"
  fn=${block//-/_}
  echo "== $block"
  # In this shell (the page's variables carry from block to block); set -e ends the test at a failing command.
  # No stdin: srun would pass it on to its first task.
  if [ -n "${alternative[$block]:-}" ]; then  # a block the page offers instead of the one before it: aside
    (eval "${alternative[$block]}"; eval "$(cat "$work/blocks/$block.sh")") > "$work/blocks/$block.log" 2>&1 < /dev/null
  else
    eval "$(cat "$work/blocks/$block.sh")" > "$work/blocks/$block.log" 2>&1 < /dev/null
  fi
  sed 's/^/   /' "$work/blocks/$block.log" | tail -n 25
  declare -F "after_$fn" > /dev/null || fail "no check for block $block"
  cd "$work"
  "after_$fn"
done
block=""
# The page's jobs write their logs under $RUNS/logs, not into the checkout (sbatch's default).
for job in "$JOB_PREP" "$JOB_WISE" "$JOB_GAP"; do
  ! ls "$src"/*-"$job".out > /dev/null 2>&1 || fail "a job's log in the checkout: $(ls "$src"/*-"$job".out)"
done
echo "imagenet_runbook: passed (${#order[@]} blocks of docs/imagenet.md) in $((SECONDS - started)) s"
