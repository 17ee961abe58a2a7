#!/usr/bin/env bash
# `wisesr sweep` end to end on a shrunken table (resnet-tiny, 3 epochs, 32x32, 2 CPU ranks): the dry run lists the
# rows with their parameter counts and refuses a count that differs from the paper's; a sweep killed in its
# first row (a rank SIGKILLed) and then preempted (SIGTERM) resumes each time where it was, and ends with
# weights bit-identical to an uninterrupted sweep and each step recorded once; a finished sweep started again
# trains nothing; results.md / results.csv hold every row beside the paper's figures, with mean +- std over
# --seeds; bad tables and options fail with one line naming the problem.
# Usage: sweep.sh WISESR_BIN MPIEXEC PYTHON
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=$1
mpiexec=$2
python=$3
source "$here/lib.sh"
wisesr_test_dir sweep
export TMPDIR=$work

"$bin" synth --out images --classes 3 --per-class 40 --size 32 --seed 5 > /dev/null
"$bin" prep --input images --out shards --size 32 --val-fraction 0.25 --shard-records 32 > /dev/null
gap_params=$("$bin" params --model.backbone resnet-tiny --model.head gap --classes 3 --data.image_size 32 |
  sed -n 's/^Keras-comparable *\([0-9,]*\).*/\1/p')
[ -n "$gap_params" ] || fail "no Keras-comparable count from 'wisesr params'"

# The shrunken table: 2 rows, 3 epochs of 11 steps (90 training images, global batch 8), a checkpoint every 4 steps.
cat > table.cfg << EOF
# A shrunken table for tests.
[data]
image_size = 32
augment = flip
[train]
epochs = 3
batch_size = 4
checkpoint_every = 4
seed = 7
threads = 1
device = cpu
log_every = 4
progress = lines
timeout_s = 30
[data]
workers = 1
[sweep]
name = Tiny table: resnet-tiny at 32x32
classes = 3
paper = made up for the test
row = resnet-tiny gap  paper_params=$gap_params paper_top1=0.5 paper_top5=100%
row = resnet-tiny wise paper_top1=0.6
EOF
sed "s/paper_params=$gap_params/paper_params=12/" table.cfg > wrong.cfg
sed "s/^classes = 3/classes = 4/" table.cfg > classes4.cfg

sweep() { "$mpiexec" -np 2 --oversubscribe "$bin" sweep --config table.cfg --data.dir "$work/shards" "$@"; }

# Dry run: every row, both counts, no training.
"$bin" sweep --config table.cfg --dry-run > dry.log || { cat dry.log; fail "dry run failed"; }
grep -q "^1 .*resnet-tiny-gap .*resnet-tiny *gap .* 32 *3 .*yes$" dry.log || { cat dry.log; fail "dry run: row 1"; }
grep -q "^2 .*resnet-tiny-wise .* - *-$" dry.log || { cat dry.log; fail "dry run: row 2"; }
[ ! -e runs ] || fail "the dry run wrote $work/runs"
echo "ok: dry run lists both rows with params beside the paper's"

expect_error "a count that differs from the paper's" "parameter counts differ from the paper's: row 1 (resnet-tiny-gap)" \
  "$bin" sweep --config wrong.cfg --dry-run
expect_error "a table for another dataset" "has 3 classes, but table 'classes4.cfg' is for 4" \
  "$bin" sweep --config classes4.cfg --data.dir "$work/shards"
expect_error "--model.head on the command line" "the rows of a sweep choose their backbone and head" \
  "$bin" sweep --config table.cfg --model.head gap --dry-run
expect_error "an unknown row" "'9' is neither a row id nor a row number (1..2)" \
  "$bin" sweep --config table.cfg --rows 9 --dry-run
printf '[sweep]\nclasses = 3\nrow = resnet-tiny\n' > short.cfg
expect_error "a row without a head" "row 1: expected 'row = BACKBONE HEAD" "$bin" sweep --config short.cfg --dry-run
printf '[sweep]\nclasses = 3\nrow = resnet-tiny gap train.epochz=3\n' > badkey.cfg
expect_error "a row with an unknown option" "row 1 (resnet-tiny-gap).*epochz" "$bin" sweep --config badkey.cfg --dry-run
expect_error "a missing table" "cannot read config file 'nope.cfg'" "$bin" sweep --config nope.cfg --dry-run

# The reference: the same sweep without interruptions.
sweep --out "$work/reference" > reference.log 2>&1 || { cat reference.log; fail "the reference sweep failed"; }

# Killed in row 1 (rank 1 SIGKILLed before step 15), then preempted in row 1 (SIGTERM to rank 0 before step 20),
# then run to the end: each time the same command.
rc=0
sweep --out "$work/sweep" --train.fault kill@1:15 > attempt1.log 2>&1 || rc=$?
[ "$rc" -ne 0 ] || { cat attempt1.log; fail "attempt 1: a rank was killed, yet the sweep exited 0"; }
[ ! -e sweep/resnet-tiny-gap/summary.json ] || fail "attempt 1: row 1 has a summary although it was killed"
rc=0
sweep --out "$work/sweep" --train.fault term@0:20 --train.preempt_exit_code 75 > attempt2.log 2>&1 || rc=$?
[ "$rc" -eq 75 ] || { cat attempt2.log; fail "attempt 2: exit status $rc after SIGTERM, expected 75"; }
grep -q "resum.* step 12" attempt2.log || { cat attempt2.log; fail "attempt 2 did not resume row 1 at step 12"; }
grep -q '"status": "preempted"' sweep/resnet-tiny-gap/summary.json || fail "attempt 2: row 1 not marked preempted"
[ ! -e sweep/resnet-tiny-wise ] || fail "attempt 2 started row 2 after a stop signal"
sweep --out "$work/sweep" > attempt3.log 2>&1 || { cat attempt3.log; fail "attempt 3 failed"; }
grep -q "resum.* step 20" attempt3.log || { cat attempt3.log; fail "attempt 3 did not resume row 1 at step 20"; }
echo "ok: killed at step 15, resumed at 12, preempted at 20 (exit 75), resumed at 20, completed"

for row in resnet-tiny-gap resnet-tiny-wise; do
  for d in reference sweep; do "$bin" export --checkpoint "$d/$row/checkpoints/last.pt" --out "$d-$row.pt" > /dev/null; done
  "$python" - "reference-$row.pt" "sweep-$row.pt" << 'PY' || fail "$row: the interrupted sweep's weights differ from the reference"
import sys, torch
a, b = torch.load(sys.argv[1]), torch.load(sys.argv[2])
diff = [k for k in a if not torch.equal(a[k], b[k])]
assert a.keys() == b.keys() and not diff, f"{len(diff)} tensors differ, e.g. {diff[:3]}"
PY
  "$python" "$here/check_metrics.py" "sweep/$row" 3 "$row" > /dev/null || fail "$row: metrics.jsonl or epochs.csv repeat or miss records"
done
echo "ok: both rows bit-identical to the uninterrupted sweep, each step and epoch recorded once"

"$python" - sweep/results.csv sweep/results.md << 'PY' || fail "results.csv / results.md"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert [r["id"] for r in rows] == ["resnet-tiny-gap", "resnet-tiny-wise"], rows
for r in rows:
    assert r["finished"] == "1" and r["epochs"] == "3" and r["classes"] == "3" and r["image_size"] == "32", r
    assert 0 <= float(r["top1_mean"]) <= 1 and 0 <= float(r["top5_mean"]) <= 1 and float(r["train_seconds"]) > 0, r
assert rows[0]["paper_params"] == rows[0]["params"] and rows[0]["paper_top1"] == "0.500000", rows[0]
assert rows[0]["paper_top5"] == "1.000000" and rows[1]["paper_params"] == "", rows
md = open(sys.argv[2]).read()
assert "# Tiny table: resnet-tiny at 32x32" in md and "2 of 2 runs finished" in md, md
assert "| resnet-tiny | " in md and "+0.1000 |" in md, md  # the delta table: paper 0.6 - 0.5
PY
echo "ok: results.csv and results.md hold both rows, the paper's figures and the Wise-SrNet - GAP delta"

sweep --out "$work/sweep" > again.log 2>&1 || { cat again.log; fail "the finished sweep, started again, failed"; }
[ "$(grep -c 'is finished.*skipped' again.log)" -eq 2 ] || { cat again.log; fail "a finished sweep trained again"; }
echo "ok: a finished sweep started again skips both rows"

# Seeds: one row twice, mean +- std.
sweep --out "$work/seeds" --rows resnet-tiny-wise --seeds 2 --train.epochs 1 > seeds.log 2>&1 ||
  { cat seeds.log; fail "--seeds 2 failed"; }
[ -d seeds/resnet-tiny-wise-seed1 ] && [ -d seeds/resnet-tiny-wise-seed2 ] || fail "--seeds 2: run directories"
grep -q "± .*(n=2)" seeds/results.md || { cat seeds/results.md; fail "--seeds 2: no mean ± std"; }
grep -q '"seed = 8"\|^seed = 8' seeds/resnet-tiny-wise-seed2/config.ini || fail "--seeds 2: second seed is not train.seed + 1"
echo "ok: --seeds 2 runs the row twice (seeds 7 and 8) and reports mean ± std"
echo "sweep: all checks passed"
