#!/usr/bin/env bash
# The main job on a built-in default: two synthetic tasks -> HDF5 shards -> GAP and Wise-SrNet trained with mpirun
# (2 CPU ranks, or one rank per GPU), 3 seeds each, as one `wisesr sweep` per task -> mean +- std side by side.
# Settings: configs/quickstart.cfg. Output: $WISESR_QUICKSTART_DIR (default <repo>/runs/quickstart).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
start=$(date +%s)
"$WISESR_ROOT/launch/setup.sh"
wisesr_build wisesr
bin=$(wisesr_bin)
cfg="$WISESR_ROOT/configs/quickstart.cfg"
work=${WISESR_QUICKSTART_DIR:-$WISESR_ROOT/runs/quickstart}
seeds=${WISESR_QUICKSTART_SEEDS:-3}
mkdir -p "$work"

# Datasets: 4 classes x 400 images of 64x64 per task; 20% of each class held out for validation.
for task in center texture; do
  if [[ ! -f "$work/$task/shards/index.json" ]]; then
    rm -rf "$work/$task"
    "$bin" synth --task "$task" --out "$work/$task/images" --classes 4 --per-class 400 --size 64 --seed 1
    "$bin" prep --input "$work/$task/images" --out "$work/$task/shards" --size 64 --val-fraction 0.2 --seed 1
  fi
done

gpus=$(wisesr_gpu_count)
if ((gpus > 0)); then np=$((gpus < 2 ? gpus : 2)); where="$np GPU rank(s)"; else np=2; where="2 CPU ranks"; fi
stamp=$(date +%Y%m%d-%H%M%S)
# TensorBoard event files in every run directory, where this build can write them (protobuf found).
tensorboard=()
"$bin" --version | grep -q TensorBoard && tensorboard=(--train.tensorboard true)
wisesr_log "training on $where: 2 tasks x 2 heads x $seeds seeds"
for task in center texture; do
  wisesr_mpirun -np "$np" "$bin" sweep --config "$cfg" --data.dir "$work/$task/shards" --seeds "$seeds" \
    --out "$work/sweeps/$task-$stamp" --train.progress lines "${tensorboard[@]}" | grep '^sweep: \|error' || exit 1
done

python3 - "$work/sweeps" "$stamp" <<'PY'
import csv, math, os, sys
sweeps, stamp = sys.argv[1], sys.argv[2]
def cell(r, k):
    m, s = r[f"{k}_mean"], r[f"{k}_std"]
    return f"{float(m):.3f} ± {float(s):.3f}" if s else (f"{float(m):.3f}" if m else "n/a")
print()
first = next(csv.DictReader(open(os.path.join(sweeps, f"center-{stamp}", "results.csv"))))
print(f"Validation top-1 after {first['epochs']} epochs, mean ± std over {first['seeds']} seeds (resnet-tiny, "
      f"{first['image_size']}x{first['image_size']}, {first['classes']} classes, 320 validation images per task):")
print(f"| {'task':<8} | {'label depends on':<16} | {'GAP':<15} | {'Wise-SrNet':<15} | {'Wise-SrNet - GAP':<16} | params (gap / wise)")
print(f"|{'-'*10}|{'-'*18}|{'-'*17}|{'-'*17}|{'-'*18}|{'-'*20}")
for task, what in (("center", "where"), ("texture", "what (control)")):
    d = os.path.join(sweeps, f"{task}-{stamp}")
    rows = {r["head"]: r for r in csv.DictReader(open(os.path.join(d, "results.csv")))}
    g, w = rows["gap"], rows["wise"]
    delta = float(w["top1_mean"]) - float(g["top1_mean"])
    n = int(g["finished"])
    if g["top1_std"] and w["top1_std"]:
        se = math.sqrt(float(g["top1_std"]) ** 2 / n + float(w["top1_std"]) ** 2 / int(w["finished"]))
        delta_s = f"{delta:+.3f} ± {se:.3f}"
    else:
        delta_s = f"{delta:+.3f}"
    print(f"| {task:<8} | {what:<16} | {cell(g, 'top1'):<15} | {cell(w, 'top1'):<15} | {delta_s:<16} | "
          f"{int(g['params']):,} / {int(w['params']):,}")
print(f"\n(± of the difference: its standard error.) Per run: {sweeps}/<task>-{stamp}/<row>-seedK/; per task: "
      f"results.md and results.csv there.")
PY

# What was learned, to look at: curves and a comparison of every run, and Grad-CAM panels (input | GAP |
# Wise-SrNet) of the first seed's models on the center task.
"$bin" report "$work/sweeps/center-$stamp" "$work/sweeps/texture-$stamp" --out "$work/report" > /dev/null
"$bin" gradcam --checkpoint "$work/sweeps/center-$stamp/resnet-tiny-gap-seed1/checkpoints/last.pt" \
  --compare "$work/sweeps/center-$stamp/resnet-tiny-wise-seed1/checkpoints/last.pt" \
  --data.dir "$work/center/shards" --count 12 --out "$work/gradcam" > /dev/null
echo "report (curves, report.md): $work/report/; Grad-CAM panels (index.md): $work/gradcam/"
if ((${#tensorboard[@]})); then
  # `python -m tensorboard.main`: the venv's own scripts name the interpreter of the path it was built at.
  echo "TensorBoard: $(wisesr_torch_python) -m tensorboard.main --logdir $work/sweeps"
fi
echo "quickstart finished in $(($(date +%s) - start)) s"
