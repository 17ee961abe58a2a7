#!/usr/bin/env bash
# `wisesr prep --layout` on tiny stand-ins with the real datasets' on-disk layouts and quirks (issue 17):
# ImageNet (devkit ground truth, Kaggle's LOC_val_solution.csv, val sorted by valprep.sh; a CMYK JPEG and a
# PNG named .JPEG), MIT Indoor 67 (official lists, names with spaces, a GIF named .jpg, a listed file that
# is missing), Intel Image Classification (nested and single-level) and class folders (train/val,
# train/test, one tree split by --val-fraction). Checks class order, split sizes, every record's label,
# what is skipped, and that a ROOT that does not match its layout is a one-line error naming what is
# missing. Usage: layouts.sh WISESR_BIN PYTHON SOURCE_DIR  (exit 77 = skipped: PYTHON lacks numpy/PIL/h5py)
set -euo pipefail
bin=$1
py=$2
src=$3
source "$src/tests/integration/lib.sh"
require_python "$py" numpy PIL h5py
wisesr_test_dir layouts

"$py" "$src/tests/integration/make_layouts.py" w >expect.json
root() { "$py" -c 'import json, sys; print(json.load(open("expect.json"))[sys.argv[1]]["root"])' "$1"; }

# prep CASE LAYOUT [options]: prepare the stand-in, verify it, compare it with what make_layouts.py expects.
prep() {
  local case=$1 layout=$2
  shift 2
  echo "== $case (--layout $layout)"
  "$bin" prep --layout "$layout" --input "$(root "$case")" --out "out_$case" --size 16 --shard-records 5 \
    --threads 2 "$@" 2>&1 | tee "$case.log"
  grep -q -- "--layout $layout: " "$case.log" || fail "$case: no report of what --layout $layout found"
  "$bin" verify "out_$case" >/dev/null || fail "verify out_$case"
  "$py" - expect.json "$case" "$layout" "out_$case" <<'PY'
import csv, h5py, io, json, sys
import numpy as np
from PIL import Image
expect, case, layout, out = json.load(open(sys.argv[1]))[sys.argv[2]], sys.argv[2], sys.argv[3], sys.argv[4]
m = json.load(open(f"{out}/index.json"))
assert m["classes"] == expect["classes"], (case, m["classes"], expect["classes"])
assert m["options"]["layout"] == layout, m["options"]
got, colours = {"train": {}, "val": {}}, {}
for split in got:
    for sh in m["splits"][split]["shards"]:
        with h5py.File(f"{out}/{sh['file']}", "r") as f:
            for i, (p, label) in enumerate(zip(f["paths"], f["labels"])):
                path = p.decode()
                assert path not in got[split], (case, "record twice", path)
                got[split][path] = m["classes"][int(label)]
                if path in expect.get("colours", {}):
                    jpeg = f["images"][f["offsets"][i]:f["offsets"][i + 1]].tobytes()
                    colours[path] = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB")).reshape(-1, 3).mean(0)
    counts = [0] * len(m["classes"])
    for c in got[split].values():
        counts[m["classes"].index(c)] += 1
    assert m["splits"][split]["class_counts"] == counts, (case, split, m["splits"][split], counts)
rows = list(csv.reader(open(f"{out}/skipped.tsv"), delimiter="\t"))[1:]
skipped = {r[0]: r[1] for r in rows}
# A GIF named .jpg: skipped with a reason saying so, unless this OpenCV decodes GIF (4.11+).
maybe = {p for p in expect.get("maybe_skipped", []) if p in skipped}
for p in maybe:
    assert "GIF" in skipped[p], (case, skipped[p])
assert set(skipped) == set(expect["skipped"]) | maybe, (case, skipped, expect["skipped"])
if "all" in expect:  # one tree split by --val-fraction 0.25: each class's 8 images -> 6 train + 2 val
    assert not set(got["train"]) & set(got["val"]), case
    assert {**got["train"], **got["val"]} == expect["all"], (case, got)
    assert m["splits"]["val"]["class_counts"] == [2] * len(m["classes"]), m["splits"]["val"]
else:
    want_train = {p: c for p, c in expect["train"].items() if p not in skipped}
    want_val = {p: c for p, c in expect["val"].items() if p not in skipped}
    assert got["train"] == want_train, (case, "train", sorted(set(got["train"]) ^ set(want_train)), got["train"])
    assert got["val"] == want_val, (case, "val labels", got["val"], want_val)
for path, rgb in expect.get("colours", {}).items():  # the CMYK JPEG and the PNG named .JPEG, decoded right
    assert path in colours and np.abs(colours[path] - np.array(rgb)).max() < 12, (case, path, colours.get(path), rgb)
print(f"{case} ok: {len(got['train'])} train + {len(got['val'])} val records, {len(skipped)} skipped")
PY
}

prep imagenet_devkit imagenet
grep -q "labelled by '.*ILSVRC2012_validation_ground_truth.txt' through '.*LOC_synset_mapping.txt'" \
  imagenet_devkit.log || fail "the devkit ground truth was not the labels used"
prep imagenet_kaggle imagenet
grep -q "labelled by '.*imagenet_kaggle/LOC_val_solution.csv'" imagenet_kaggle.log || fail "Kaggle's CSV unused"
prep imagenet_sorted imagenet
grep -q "sorted into <wnid>/ folders" imagenet_sorted.log || fail "val/<wnid>/ not recognised"
prep mit67 mit67
grep -q "listed but missing: 1 train, 0 val (skipped); 4 files in neither list" mit67.log || fail "mit67 report"
prep intel intel
grep -q "seg_pred': 3 unlabelled files (not used)" intel.log || fail "seg_pred not reported as unused"
prep intel_flat intel
prep folders_val folders
grep -q "folders_val/test' not used" folders_val.log || fail "folders: test/ next to val/ not reported"
prep folders_test folders
prep folders_tree folders --val-fraction 0.25
"$bin" prep --layout mit67 --input "$(root mit67)" --out dry --size 16 --dry-run | grep -q "^wine cellar .* 3 .* 1$" \
  || fail "--dry-run with a layout: counts per class"

echo "== bad input: one-line errors naming what is missing"
# expect_error NAME PATTERN prep-options...: prep must fail with exactly one error line matching PATTERN.
expect_error() {
  local name=$1 pattern=$2
  shift 2
  if "$bin" prep --out "bad_$name" --size 16 "$@" >"$name.out" 2>"$name.err"; then fail "$name: prep succeeded"; fi
  grep -q -- "$pattern" "$name.err" || { cat "$name.err"; fail "$name: no error matching '$pattern'"; }
  [ "$(grep -c "error:" "$name.err")" = 1 ] || { cat "$name.err"; fail "$name: not one error line"; }
  test ! -e "bad_$name/index.json" || fail "$name: left a dataset"
  echo "$name: $(grep "error:" "$name.err")"
}
cp -r "$(root imagenet_devkit)" in_nolabels
rm -r in_nolabels/ILSVRC2012_devkit_t12 in_nolabels/LOC_synset_mapping.txt
expect_error imagenet_no_labels \
  "in_nolabels/val' holds 8 files (no <wnid>/ folders) but no labels: put ILSVRC2012_validation_ground_truth.txt" \
  --layout imagenet --input in_nolabels
cp -r "$(root imagenet_devkit)" in_nomapping
rm in_nomapping/LOC_synset_mapping.txt
expect_error imagenet_no_mapping \
  "ILSVRC2012_validation_ground_truth.txt' gives ILSVRC2012_IDs, but no synset mapping is in .*meta.mat is not read" \
  --layout imagenet --input in_nomapping
cp -r "$(root imagenet_devkit)" in_gtlines
echo 2 >>in_gtlines/ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt
expect_error imagenet_gt_lines "ground_truth.txt' has 8 labels but 'in_gtlines/val' holds 7 ILSVRC2012_val_<k> images" \
  --layout imagenet --input in_gtlines
cp -r "$(root imagenet_devkit)" in_gtrange
echo 4 >in_gtrange/ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt
expect_error imagenet_gt_id "line 1: '4' is not an ILSVRC2012_ID in \[1, 3\]" --layout imagenet --input in_gtrange
cp -r w/imagenet_kaggle in_kaggle
sed -i 's/^ILSVRC2012_val_00000002,n01440764/ILSVRC2012_val_00000002,n09999999/' in_kaggle/LOC_val_solution.csv
expect_error imagenet_unknown_wnid \
  "val image 'ILSVRC2012_val_00000002.JPEG' is labelled 'n09999999' by .*not a class folder" \
  --layout imagenet --input in_kaggle/ILSVRC/Data/CLS-LOC
cp -r "$(root imagenet_sorted)" in_noval
rm -r in_noval/val
expect_error imagenet_no_val "in_noval/val' not found" --layout imagenet --input in_noval
expect_error imagenet_not_imagenet "mit67/train' not found (expected ROOT/train/<wnid>/\*.JPEG and ROOT/val/)" \
  --layout imagenet --input "$(root mit67)"
cp -r "$(root mit67)" in_mit67
rm in_mit67/TestImages.txt
expect_error mit67_no_test_list "in_mit67/TestImages.txt' not found" --layout mit67 --input in_mit67
expect_error mit67_strict "listed_but_missing.jpg': listed in TrainImages.txt but missing (--strict)" \
  --layout mit67 --input "$(root mit67)" --strict
cp -r "$(root intel)" in_intel
rm -r in_intel/seg_test
expect_error intel_no_test "in_intel/seg_test' not found" --layout intel --input in_intel
cp -r "$(root folders_val)" in_folders
mkdir -p in_folders/val/stray && cp in_folders/val/n01530575/n01530575_val_0.JPEG in_folders/val/stray/
expect_error folders_val_class "class folder 'in_folders/val/stray' has no counterpart in 'in_folders/train'" \
  --layout folders --input in_folders
expect_error layout_and_val_input "drop --list, --root, --val-input and --val-list" \
  --layout folders --input in_folders --val-input in_folders/val
echo "layouts ok"
