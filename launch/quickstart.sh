#!/usr/bin/env bash
# The main job on a built-in default: a synthetic spatial dataset -> HDF5 shards -> train a GAP model and
# a Wise-SrNet model with mpirun (2 CPU ranks, or one rank per GPU) -> evaluate both -> comparison table.
# Settings: configs/quickstart.cfg. Output: $WISESR_QUICKSTART_DIR (default <repo>/runs/quickstart).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
start=$(date +%s)
"$WISESR_ROOT/launch/setup.sh"
wisesr_build wisesr
bin=$(wisesr_bin)
cfg="$WISESR_ROOT/configs/quickstart.cfg"
work=${WISESR_QUICKSTART_DIR:-$WISESR_ROOT/runs/quickstart}
mkdir -p "$work"

# Dataset: 8 classes x 250 images of 128x128 whose label is the layout of the same four shapes.
if [[ ! -f "$work/shards/index.json" ]]; then
  rm -rf "$work/images" "$work/shards"
  "$bin" synth --out "$work/images" --classes 8 --per-class 250 --size 128 --seed 1
  "$bin" prep --input "$work/images" --out "$work/shards" --size 128 --val-fraction 0.2 --seed 1
fi

gpus=$(wisesr_gpu_count)
if ((gpus > 0)); then np=$((gpus < 2 ? gpus : 2)); where="$np GPU rank(s)"; else np=2; where="2 CPU ranks"; fi
stamp=$(date +%Y%m%d-%H%M%S)
wisesr_log "training on $where"
for head in gap wise; do
  run="$head-$stamp"
  wisesr_mpirun -np "$np" "$bin" train --config "$cfg" --data.dir "$work/shards" --model.head "$head" \
    --train.out_dir "$work/runs" --train.run_name "$run" | grep -v '^\(\[\|$\|[a-z_]* = \)' || exit 1
  wisesr_mpirun -np "$np" "$bin" eval --checkpoint "$work/runs/$run/checkpoints/last.pt" --data.dir "$work/shards" \
    --json "$work/runs/$run/eval.json"
done

python3 - "$work/runs" "$stamp" "$(($(date +%s) - start))" <<'PY'
import json, os, sys
runs, stamp, total = sys.argv[1], sys.argv[2], sys.argv[3]
rows = []
for head in ("gap", "wise"):
    d = os.path.join(runs, f"{head}-{stamp}")
    e = json.load(open(os.path.join(d, "eval.json")))
    s = json.load(open(os.path.join(d, "summary.json")))
    rows.append((f"{e['backbone']} + {head}", e["params"], e["top1"], e["top5"], s["train_seconds"], d))
print()
print("Validation results (synthetic spatial task, 8 classes, 400 validation images):")
print(f"| {'model':<20} | {'params':>9} | {'top-1':>6} | {'top-5':>6} | {'train s':>7} | run directory")
print(f"|{'-'*22}|{'-'*11}|{'-'*8}|{'-'*8}|{'-'*9}|{'-'*15}")
for m, p, t1, t5, secs, d in rows:
    print(f"| {m:<20} | {p:>9,} | {t1:>6.3f} | {t5:>6.3f} | {secs:>7.1f} | {d}")
print(f"\nquickstart finished in {total} s; checkpoints under <run directory>/checkpoints/")
PY
