#!/usr/bin/env bash
# The whole classifier out to Python (python/wisesr_torch): short CPU trainings of resnet-tiny at 96x96 with
# each head family (gap, dw-nonneg, wise with a 2x2 pool, avg-fc), and one step of resnet50 (torchvision) and
# xception (timm), `wisesr export`ed; wisesr_torch.load_exported() rebuilds each model from the export alone
# and its loss, top-1 and top-5 on the raw-storage shards equal `wisesr eval --json`'s (loss to 1e-5) on
# the validation and the training split. torch.onnx.export of the rebuilt models where onnx is installed.
# Usage: python_model.sh WISESR_BIN PYTHON SOURCE_DIR
set -euo pipefail
bin=$1
python=$2
src=$3
source "$src/tests/integration/lib.sh"
wisesr_test_dir pymodel
export OMP_NUM_THREADS=1
require_python "$python" torch torchvision timm h5py

"$bin" synth --out images --classes 3 --per-class 12 --size 96 --seed 3 > /dev/null
# Raw storage: Python sees exactly the pixels wisesr evaluates (no JPEG decoder in between).
"$bin" prep --input images --out shards --size 96 --storage raw --val-fraction 0.25 --shard-records 16 > /dev/null

cpu=(--train.threads 1 --data.workers 1 --train.device cpu)
checks=()
# train NAME BACKBONE HEAD [OPTION ...]: train, eval on both splits, export; queue the Python checks.
train() {
  local name=$1 backbone=$2 head=$3
  shift 3
  "$bin" train --data.dir shards --train.out_dir runs --train.run_name "$name" --model.backbone "$backbone" \
    --model.head "$head" --train.progress lines "${cpu[@]}" "$@" > "$name.log" 2>&1 || {
    cat "$name.log"
    echo "FAIL: training $name"
    exit 1
  }
  local ckpt=runs/$name/checkpoints/last.pt split
  for split in val train; do
    "$bin" eval --checkpoint "$ckpt" --data.dir shards --data.val_split "$split" --json "$name-$split.json" \
      --train.threads 1 --train.device cpu > /dev/null
    checks+=("$name.pt:$split:$name-$split.json")
  done
  "$bin" export --checkpoint "$ckpt" --out "$name.pt" > /dev/null
  test -s "$name.pt.json" || { echo "FAIL: export wrote no $name.pt.json"; exit 1; }
}
# Two epochs at lr 0.05: BatchNorm statistics and weights far from their initial values.
short=(--train.batch_size 4 --train.epochs 2 --optim.lr 0.05)
train tiny-gap resnet-tiny gap "${short[@]}"
train tiny-dw-nonneg resnet-tiny dw-nonneg "${short[@]}"
train tiny-wise resnet-tiny wise --model.pool 2 "${short[@]}"
train tiny-avg-fc resnet-tiny avg-fc "${short[@]}"
# The torchvision and timm constructors: one step each.
train r50-wise resnet50 wise --train.batch_size 2 --train.max_steps 1
train xception-gap xception gap --train.batch_size 2 --train.max_steps 1

"$python" -c 'import json, sys; m = json.load(open(sys.argv[1])); assert (m["head"], m["pool"], m["feature_map"], m["image_size"]) == ("wise", 2, 3, 96), m' tiny-wise.pt.json
"$python" "$src/tests/python/check_python_model.py" shards --onnx "$work" "${checks[@]}"

# As the docs show it: PYTHONPATH=python, load_exported, class names and preprocess.
PYTHONPATH="$src/python" "$python" - tiny-wise.pt << 'PY'
import sys
import numpy as np
import torch
import wisesr_torch

model = wisesr_torch.load_exported(sys.argv[1])
x = wisesr_torch.preprocess(np.zeros((2, 96, 96, 3), np.uint8), model.normalize, model.image_size)
logits = model(x)
assert logits.shape == (2, len(model.class_names)) and not model.training
# Without the metadata beside it, a one-line error naming the file.
try:
    wisesr_torch.load_exported(sys.argv[1], metadata=sys.argv[1] + ".missing")
    raise SystemExit("FAIL: loaded without metadata")
except FileNotFoundError as e:
    assert "no export metadata" in str(e), e
print("ok: the docs' example")
PY
# The .pt alone stays a plain state_dict: torch.load(weights_only=True) + load_state_dict(strict=False).
"$python" - r50-wise.pt << 'PY'
import sys
import torch
import torchvision

sd = torch.load(sys.argv[1], map_location="cpu", weights_only=True)
r = torchvision.models.resnet50().load_state_dict(sd, strict=False)
assert set(r.missing_keys) == {"fc.weight", "fc.bias"}, r.missing_keys
assert all(k.startswith("wisesr_head.") for k in r.unexpected_keys), r.unexpected_keys
print("ok: the export loads into torchvision's resnet50 with strict=False")
PY
echo "python_model: ok"
