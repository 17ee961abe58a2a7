#!/usr/bin/env bash
# `wisesr predict` as a user runs it: a tiny model trained on a synthetic set, then its predictions for image
# files and folders (JPEG and PNG), checked against `wisesr eval` on the same images: with a separate validation
# folder stored raw (prep's decoding and resizing, no JPEG re-encoding), predict's top-1 on that folder equals
# eval's top-1 exactly. A corrupt file and a missing one get one error line each naming them, the rest are still
# classified, and the exit status is 1.
# Usage: predict.sh WISESR_BIN
set -euo pipefail
bin=$1
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
wisesr_test_dir predict
"$bin" synth --out train --task texture --classes 3 --per-class 30 --size 48 --seed 1 > /dev/null
"$bin" synth --out val --task texture --classes 3 --per-class 6 --size 48 --seed 2 --format png > /dev/null
"$bin" prep --input train --val-input val --out shards --size 32 --storage raw > /dev/null
"$bin" train --data.dir shards --model.backbone resnet-tiny --data.image_size 32 --train.epochs 2 --train.batch_size 8 \
  --train.device cpu --train.threads 1 --train.out_dir runs --train.run_name r --train.progress lines > train.log 2>&1 ||
  { cat train.log; fail "training failed"; }
ckpt=runs/r/checkpoints/last.pt
"$bin" eval --checkpoint "$ckpt" --data.dir shards --json eval.json --train.device cpu > /dev/null

# A folder (recursively), top-3, JSON.
"$bin" predict --checkpoint "$ckpt" val --topk 3 --json val.json --train.batch_size 5 > val.txt ||
  fail "predict on a folder failed"
python3 - val.json val.txt eval.json << 'PY'
import json, sys
preds = json.load(open(sys.argv[1]))
lines = open(sys.argv[2]).read().splitlines()
ev = json.load(open(sys.argv[3]))
assert len(preds) == 18 == len(lines), (len(preds), len(lines))
for p in preds:
    top = p["top"]
    assert len(top) == 3 and all(t["class"] in ("circle", "square", "triangle") for t in top), p
    probs = [t["prob"] for t in top]
    assert probs == sorted(probs, reverse=True) and 0.999 <= sum(probs) <= 1.001, p  # 3 classes: all of them
hits = sum(p["top"][0]["class"] == p["file"].split("/")[-2] for p in preds)
assert abs(hits / 18 - ev["top1"]) < 1e-9, (hits, ev["top1"])
for c in ev["per_class"]:  # and class by class
    mine = [p for p in preds if p["file"].split("/")[-2] == c["class"]]
    got = sum(p["top"][0]["class"] == c["class"] for p in mine)
    assert len(mine) == c["samples"] and abs(got / len(mine) - c["top1"]) < 1e-9, (c, got, len(mine))
print(f"predict top-1 on the val folder {hits}/18 = eval's {ev['top1']:.4f}")
PY

# Files as given, a corrupt one and a missing one among them: the rest are classified, exit status 1.
printf 'not an image' > broken.jpg
rc=0
"$bin" predict --checkpoint "$ckpt" train/circle/img_00000.jpg broken.jpg val/square/img_00001.png --topk 1 \
  > some.txt 2> some.err || rc=$?
[ "$rc" -eq 1 ] || { cat some.txt some.err; fail "a corrupt file: exit status $rc, expected 1"; }
[ "$(wc -l < some.txt)" -eq 2 ] || { cat some.txt; fail "the two good files were not both classified"; }
grep -q "^train/circle/img_00000.jpg: [a-z]* [01]\.[0-9]*$" some.txt || { cat some.txt; fail "output line format"; }
grep -q "wisesr predict: 'broken.jpg': " some.err || { cat some.err; fail "no error line naming broken.jpg"; }
grep -q "1 of 3 file(s) could not be classified" some.err || { cat some.err; fail "no summary of the failures"; }
expect_error "a missing file" "no such file or directory: 'nowhere.jpg'" "$bin" predict --checkpoint "$ckpt" nowhere.jpg
expect_error "no inputs" "no images given" "$bin" predict --checkpoint "$ckpt"
echo "predict: all checks passed"
