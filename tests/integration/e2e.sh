#!/usr/bin/env bash
# End to end, as a user runs it: synth -> prep -> mpirun -np 2 wisesr train (a few steps) -> eval.
# Usage: e2e.sh WISESR_BIN MPIEXEC
set -euo pipefail
bin=$1
mpiexec=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/wisesr-e2e-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

"$bin" synth --out images --classes 4 --per-class 12 --size 64 --seed 3
# Broken inputs are skipped, counted and listed, never fatal (without --strict).
printf 'not an image' > images/layout_00/broken.jpg
: > images/layout_01/empty.png
"$bin" prep --input images --out shards --size 64 --val-fraction 0.25 --shard-records 16 | tee prep.log
test -f shards/index.json
grep -q "skipped 2" prep.log || { echo "FAIL: expected 2 skipped files"; exit 1; }
test "$(wc -l < shards/skipped.tsv)" -eq 3 || { echo "FAIL: skipped.tsv"; cat shards/skipped.tsv; exit 1; }
if "$bin" prep --input images --out strict --size 64 --strict 2> strict.err; then
  echo "FAIL: --strict accepted a broken image"; exit 1
fi
grep -q "broken.jpg\|empty.png" strict.err

"$mpiexec" -np 2 --oversubscribe "$bin" train --data.dir shards --train.out_dir runs --train.run_name e2e \
  --train.batch_size 4 --train.epochs 2 --train.max_steps 5 --train.log_every 2 --train.threads 1 --data.workers 1 \
  --train.device cpu --train.check_collectives true | tee train.log
ckpt=runs/e2e/checkpoints/last.pt
test -f "$ckpt" || { echo "FAIL: no checkpoint at $ckpt"; exit 1; }
test -s runs/e2e/metrics.jsonl || { echo "FAIL: empty metrics.jsonl"; exit 1; }
grep -q '"kind":"train"' runs/e2e/metrics.jsonl
grep -q "steps eager (the run is on the CPU)" train.log || { echo "FAIL: how steps run is not logged"; exit 1; }
# A CUDA graph demanded where none can run is a one-line error naming the option.
if "$bin" train --data.dir shards --train.out_dir runs --train.run_name graph --train.max_steps 1 \
    --train.device cpu --train.cuda_graph on 2> graph.err; then
  echo "FAIL: --train.cuda_graph on accepted a CPU run"; exit 1
fi
grep -q -- "--train.cuda_graph on: the run is on the CPU" graph.err || { cat graph.err; exit 1; }

"$mpiexec" -np 2 --oversubscribe "$bin" eval --checkpoint "$ckpt" --data.dir shards --json eval.json --train.threads 1 \
  --per-class per_class.csv --confusion confusion.csv \
  | tee eval.log
python3 - eval.json shards/index.json per_class.csv confusion.csv <<'PY'
import csv, json, math, sys
r = json.load(open(sys.argv[1]))
index = json.load(open(sys.argv[2]))
val = index["splits"]["val"]["records"]
assert val >= 10, val
assert r["samples"] == val, (r, val)              # every validation record counted exactly once
assert math.isfinite(r["loss"]), r
assert 0.0 <= r["top1"] <= r["top5"] <= 1.0, r
# Per class (reduced over both ranks like top-1): samples per class as prep wrote them, hits summing to top-1.
classes, counts = index["classes"], index["splits"]["val"]["class_counts"]
pc = list(csv.DictReader(open(sys.argv[3])))
assert [p["class"] for p in pc] == classes and [int(p["samples"]) for p in pc] == counts, (pc, counts)
assert sum(int(p["top1_correct"]) for p in pc) == round(r["top1"] * val), (pc, r)
assert [c["class"] for c in r["per_class"]] == classes, r["per_class"]
m = list(csv.reader(open(sys.argv[4])))
assert m[0][1:] == classes and [row[0] for row in m[1:]] == classes, m
cells = [[int(x) for x in row[1:]] for row in m[1:]]
assert [sum(row) for row in cells] == counts and sum(cells[i][i] for i in range(len(cells))) == round(r["top1"] * val), m
print("e2e eval ok:", r)
PY
# The paper's head delta, as a user asks for it; and the trained weights exported for Python.
"$bin" params --model.backbone resnet50 --model.head wise --classes 70 --data.image_size 224 | tee params.log
grep -q "+20,480 vs gap" params.log || { echo "FAIL: wise head delta"; exit 1; }
"$bin" export --checkpoint "$ckpt" --out export.pt
test -s export.pt
# ... and fine-tuned from: the exported backbone is a valid --model.pretrained (head keys are ignored).
"$bin" train --data.dir shards --train.out_dir runs --train.run_name finetune --train.batch_size 4 \
  --train.max_steps 1 --train.threads 1 --train.device cpu --model.pretrained export.pt | tee finetune.log
grep -q "backbone weights from export.pt" finetune.log || { echo "FAIL: pretrained weights not loaded"; exit 1; }
echo "e2e: passed"
