#!/usr/bin/env bash
# `wisesr gradcam` on the synthetic `center` task (128x128, 4 classes; resnet-tiny's 4x4 feature map), where the
# object that decides the class is the pattern in the centre cell of the 3x3 grid. Measure: the share of
# validation images whose heatmap (of the true class) has its hottest pixel inside the centre cell; threshold
# 0.6 (the cell is 1/9 of the image, so a heatmap blind to the object would score about 0.11). Also: --compare
# panels (input | A | B) only of images both models classify correctly, index.md / index.json, valid PNGs, and
# one-line errors for a missing checkpoint and a dataset of other classes. The gradients themselves are checked
# against finite differences in tests/unit/gradcam_test.cpp.
# Usage: gradcam.sh WISESR_BIN MPIEXEC PYTHON
set -euo pipefail
bin=$1
mpiexec=$2
python=$3
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
wisesr_test_dir gradcam
require_python "$python" PIL
"$bin" synth --task center --out images --classes 4 --per-class 300 --size 128 --seed 1 > /dev/null
"$bin" prep --input images --out shards --size 128 --val-fraction 0.2 --seed 1 > /dev/null
for head in gap wise; do
  "$mpiexec" -np 2 --oversubscribe "$bin" train --data.dir shards --model.backbone resnet-tiny --model.head "$head" \
    --model.dropout 0 --data.augment none --train.epochs 16 --train.batch_size 32 --train.threads 1 --train.device cpu \
    --train.seed 42 --train.out_dir runs --train.run_name "$head" --train.progress lines > "train-$head.log" 2>&1 ||
    { tail -20 "train-$head.log"; fail "training $head failed"; }
done

"$bin" gradcam --checkpoint runs/gap/checkpoints/last.pt --data.dir shards --count 60 --class-of true --out cam \
  > cam.log || { cat cam.log; fail "gradcam failed"; }
"$python" - cam << 'PY' || fail "localisation"
import json, sys
recs = json.load(open(f"{sys.argv[1]}/index.json"))
assert len(recs) == 60, len(recs)
S = 128
inside = sum(S / 3 <= r["models"][0]["hottest"][0] < 2 * S / 3 and S / 3 <= r["models"][0]["hottest"][1] < 2 * S / 3
             for r in recs)
share = inside / len(recs)
print(f"hottest pixel in the centre cell: {inside}/{len(recs)} = {share:.2f} (threshold 0.6, chance ~0.11)")
assert share >= 0.6, share
PY

"$bin" gradcam --checkpoint runs/gap/checkpoints/last.pt --compare runs/wise/checkpoints/last.pt --data.dir shards \
  --count 8 --out compare > compare.log || { cat compare.log; fail "gradcam --compare failed"; }
"$python" - compare << 'PY' || fail "compare panels"
import json, sys
from PIL import Image
d = sys.argv[1]
recs = json.load(open(f"{d}/index.json"))
assert recs, "no image that both models classify correctly"
md = open(f"{d}/index.md").read()
assert "resnet-tiny + gap vs resnet-tiny + wise" in md and "both models classify correctly" in md, md[:300]
for r in recs:
    assert [m["class"] for m in r["models"]] == [r["true_class"]] * 2, r   # both correct
    assert f"]({r['image']})" in md, r
    im = Image.open(f"{d}/{r['image']}")
    im.verify()
    im = Image.open(f"{d}/{r['image']}")
    assert im.size[0] == 3 * (im.size[1] - 24) and im.size[1] - 24 >= 224, im.size  # input | A | B, >= 224 px
print(f"compare: {len(recs)} panel(s) input | gap | wise")
PY

expect_error "a missing checkpoint" "nowhere.pt" "$bin" gradcam --checkpoint nowhere.pt --data.dir shards --out x
"$bin" synth --out other --classes 3 --per-class 4 --size 32 > /dev/null
"$bin" prep --input other --out other_shards --size 32 --val-fraction 0.5 > /dev/null
expect_error "a dataset of other classes" "has other classes than checkpoint" \
  "$bin" gradcam --checkpoint runs/gap/checkpoints/last.pt --data.dir other_shards --out x
echo "gradcam: all checks passed"
