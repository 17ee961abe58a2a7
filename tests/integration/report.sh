#!/usr/bin/env bash
# `wisesr report` end to end: two tiny runs (resnet-tiny gap and wise, 2 epochs, 32x32, CPU) -> the four PNGs
# are valid images of a sane size, report.md lists both runs with summary.json's best top-1, report.csv
# parses with the same figures; a sweep directory stands for its runs (labels then disambiguated by run
# name); a missing directory, a directory that is not a run, and a Python without matplotlib are one-line
# errors with exit status 1.
# Usage: report.sh WISESR_BIN PYTHON
set -euo pipefail
bin=$1
python=$2
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
wisesr_test_dir report
export OMP_NUM_THREADS=1
require_python "$python" matplotlib PIL

"$bin" synth --out images --classes 3 --per-class 12 --size 32 --seed 2 > /dev/null
"$bin" prep --input images --out shards --size 32 --val-fraction 0.25 > /dev/null
for head in gap wise; do
  "$bin" train --data.dir shards --train.out_dir runs --train.run_name "$head" --model.backbone resnet-tiny \
    --model.head "$head" --data.image_size 32 --train.epochs 2 --train.batch_size 4 --train.threads 1 \
    --data.workers 1 --train.device cpu --train.progress lines > "train-$head.log" 2>&1 ||
    { cat "train-$head.log"; fail "training $head"; }
done

# The wise run's confusion matrix, where `wisesr report` looks for it (drawn as confusion-2.png).
"$bin" eval --checkpoint runs/wise/checkpoints/last.pt --data.dir shards --train.device cpu \
  --confusion runs/wise/confusion.csv > /dev/null
"$bin" report runs/gap runs/wise --out rep | tee report.log
"$python" - rep runs/gap runs/wise << 'PY'
import csv, json, os, sys
from PIL import Image

out, runs = sys.argv[1], sys.argv[2:]
for name in ("top1", "top5", "loss", "lr"):
    with Image.open(os.path.join(out, name + ".png")) as im:
        im.verify()  # a complete, valid PNG
    with Image.open(os.path.join(out, name + ".png")) as im:
        assert im.format == "PNG" and 300 <= im.width <= 4000 and 200 <= im.height <= 3000, (name, im.size)
md = open(os.path.join(out, "report.md")).read()
rows = list(csv.DictReader(open(os.path.join(out, "report.csv"))))
assert len(rows) == 2, rows
for run, row in zip(runs, rows):
    s = json.load(open(os.path.join(run, "summary.json")))
    label = f"{s['backbone']} + {s['head']}"
    line = next((l for l in md.splitlines() if l.startswith(f"| {label} |")), None)
    assert line, (label, md)
    assert f"| {s['best_val_top1']:.4f} |" in line, (line, s["best_val_top1"])
    assert row["run"] == label and row["dir"] == run, row
    assert float(row["best_val_top1"]) == s["best_val_top1"], (row, s)
    assert float(row["final_val_top1"]) == s["val"]["top1"] and float(row["final_val_top5"]) == s["val"]["top5"]
    assert int(row["params"]) == s["params"] and int(row["epochs"]) == 2, row
    assert float(row["gflops"]) > 0 and float(row["img_per_s"]) > 0 and float(row["train_seconds"]) > 0, row
for name in ("top1", "top5", "loss", "lr", "confusion-2"):
    assert f"]({name}.png)" in md, name
assert not os.path.exists(os.path.join(out, "confusion-1.png"))  # the gap run has no confusion.csv
with Image.open(os.path.join(out, "confusion-2.png")) as im:
    im.verify()
print("ok: PNGs (curves, the wise run's confusion matrix), report.md and report.csv for both runs")
PY

# A sweep directory (results.csv + run directories) stands for its runs; the same backbone + head twice is
# told apart by run name.
mkdir sweep
cp -r runs/gap sweep/resnet-tiny-gap
cp -r runs/wise sweep/resnet-tiny-wise
echo "row,id" > sweep/results.csv
"$bin" report sweep runs/gap --out rep-sweep > /dev/null
"$python" - rep-sweep/report.csv << 'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
labels = [r["run"] for r in rows]
assert labels == ["resnet-tiny + gap (resnet-tiny-gap)", "resnet-tiny + wise", "resnet-tiny + gap (gap)"], labels
print("ok: a sweep directory's runs, ambiguous labels carry the run name")
PY

expect_error "a missing run directory" "'runs/missing' does not exist" "$bin" report runs/missing --out x
expect_error "a directory that is not a run" "'shards' is not a run directory" "$bin" report shards --out x
expect_error "no run directory" "no run directory given" "$bin" report --out x
if python3 -c 'import matplotlib' 2> /dev/null; then
  echo "skip: python3 on PATH has matplotlib (no Python without it to try)"
else
  expect_error "a Python without matplotlib" "matplotlib is not installed" "$bin" report runs/gap --out x --python python3
fi
expect_error "a Python that does not exist" "cannot run Python '$work/none'" "$bin" report runs/gap --out x --python "$work/none"
"$bin" --help | grep -q "^  report " || fail "'wisesr --help' does not list report"
echo "report: ok"
