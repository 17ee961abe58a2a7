#!/usr/bin/env bash
# --train.tensorboard end to end, read back with the tensorboard package's own reader (EventAccumulator,
# what `tensorboard --logdir` loads runs with): a tiny CPU run checkpoints every 4 steps and is killed
# (SIGKILL, --train.fault) before step 11, then resumed to the end. Afterwards TensorBoard sees every
# logged step exactly once (the events the resume replays were cut, as in metrics.jsonl), each scalar equal
# to metrics.jsonl's record of that step (to float precision), epoch records only for complete epochs,
# validation per epoch, and one config text per start holding that start's resolved config.
# Usage: tensorboard.sh WISESR_BIN PYTHON
set -euo pipefail
bin=$1
python=$2
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
wisesr_test_dir tensorboard
export OMP_NUM_THREADS=1
require_python "$python" tensorboard.backend.event_processing.event_accumulator

"$bin" synth --out images --classes 3 --per-class 12 --size 32 --seed 3 > /dev/null
"$bin" prep --input images --out shards --size 32 --val-fraction 0.25 > /dev/null
train=("$bin" train --data.dir shards --train.out_dir runs --train.run_name tb --model.backbone resnet-tiny
  --model.head wise --data.image_size 32 --train.epochs 3 --train.batch_size 4 --train.threads 1 --data.workers 1
  --train.device cpu --train.progress lines --train.log_every 2 --train.checkpoint_every 4 --train.tensorboard true)

rc=0
"${train[@]}" --train.fault kill@0:11 > killed.log 2>&1 || rc=$?
[ "$rc" -ne 0 ] || { cat killed.log; fail "the run with kill@0:11 was not killed"; }
files=(runs/tb/events.out.tfevents.*)
[ -f "${files[0]}" ] || fail "no event file in runs/tb after the killed start"
"${train[@]}" --train.resume auto > resumed.log 2>&1 || { cat resumed.log; fail "the resumed run"; }
grep -q "TensorBoard event files: [0-9]* event(s) after the checkpoint removed" resumed.log ||
  { cat resumed.log; fail "the resume did not cut the killed start's later events"; }

"$python" - runs/tb << 'PY'
import json, os, sys
import numpy as np
from tensorboard.backend.event_processing import event_accumulator as ea

run = sys.argv[1]
acc = ea.EventAccumulator(run, size_guidance={ea.SCALARS: 0, ea.TENSORS: 0})
acc.Reload()
tags = acc.Tags()
records = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl"))]
train = [r for r in records if r["kind"] == "train"]
epochs = [r for r in records if r["kind"] == "epoch"]
assert len(epochs) == 3 and all(e["complete"] for e in epochs), epochs

def series(tag):
    assert tag in tags["scalars"], (tag, tags["scalars"])
    ev = acc.Scalars(tag)
    steps = [e.step for e in ev]
    assert steps == sorted(set(steps)), (tag, steps)  # each step once, in order
    return steps, [e.value for e in ev]

f32 = lambda x: float(np.float32(x))
for tag, key in (("train/loss", "loss"), ("train/top1", "top1"), ("train/top5", "top5"), ("train/lr", "lr"),
                 ("perf/img_per_s", "img_per_s"), ("perf/data_wait_frac", "data_wait_frac")):
    steps, values = series(tag)
    assert steps == [r["step"] for r in train], (tag, steps, [r["step"] for r in train])
    assert values == [f32(r[key]) for r in train], (tag, values, [r[key] for r in train])
for tag, part, key in (("epoch/train_top1", "train", "top1"), ("epoch/train_loss", "train", "loss"),
                       ("epoch/val_top1", "val", "top1"), ("epoch/val_top5", "val", "top5"),
                       ("epoch/val_loss", "val", "loss")):
    steps, values = series(tag)
    assert steps == [e["step"] for e in epochs], (tag, steps)
    assert values == [f32(e[part][key]) for e in epochs], (tag, values)
steps, values = series("epoch/progress")
assert values == [1.0, 2.0, 3.0], values

texts = acc.Tensors("config")
assert len(texts) == 2, [t.step for t in texts]  # the killed start's and the resume's
config = open(os.path.join(run, "config.ini")).read()
body = texts[-1].tensor_proto.string_val[0].decode()
assert body.startswith("Resumed from step 8"), body[:200]
assert "\n".join("    " + l for l in config.splitlines()) in body, body
assert texts[0].step == 0 and texts[0].tensor_proto.string_val[0].decode().startswith("A fresh start")
print(f"ok: TensorBoard reads {len(train)} windows and {len(epochs)} epochs once each, equal to metrics.jsonl;"
      f" {len(tags['scalars'])} scalar tags, {len(texts)} config texts")
PY
