#!/usr/bin/env bash
# `wisesr prep` and `wisesr verify` as a user meets them (issue 3): mixed formats and broken inputs,
# every storage x resize policy, list files with a class index, determinism across thread counts,
# resume after a kill, corruption found by verify, and the h5py example of docs/shard-format.md.
# Usage: prep.sh WISESR_BIN PYTHON SOURCE_DIR     (exit 77 = skipped: PYTHON lacks numpy/PIL/h5py)
set -euo pipefail
bin=$1
py=$2
src=$3
source "$src/tests/integration/lib.sh"
require_python "$py" numpy PIL h5py
wisesr_test_dir prep

echo "== mixed formats and broken inputs"
expect=$("$py" "$src/tests/integration/make_bad_inputs.py" mixed)
"$bin" prep --input mixed --out mixed_shards --size 48 --resize short-side --val-fraction 0 --shard-records 8 \
  2>&1 | tee mixed.log
"$bin" verify mixed_shards
"$py" - "$expect" mixed_shards <<'PY'
import csv, h5py, json, sys
expect, out = json.loads(sys.argv[1]), sys.argv[2]
m = json.load(open(f"{out}/index.json"))
assert m["classes"] == ["cats", "dogs", "empty_class"], m["classes"]
tr = m["splits"]["train"]
assert tr["class_counts"] == [expect["good"]["cats"], expect["good"]["dogs"], 0], (tr["class_counts"], expect)
rows = list(csv.reader(open(f"{out}/skipped.tsv"), delimiter="\t"))[1:]
assert sorted(r[0] for r in rows) == expect["bad"], rows
reasons = {r[0]: r[1] for r in rows}
assert reasons["cats/empty.jpg"] == "empty file" and "truncated" in reasons["dogs/truncated.jpg"], reasons
assert reasons["dogs/dangling.jpg"] == "broken symlink", reasons
shapes = {}
for sh in tr["shards"]:
    with h5py.File(f"{out}/{sh['file']}", "r") as f:
        for p, s in zip(f["paths"], f["shapes"]):
            shapes[p.decode()] = tuple(int(v) for v in s)
assert min(shapes["cats/rotated.jpg"][:2]) == 48 and shapes["cats/rotated.jpg"][0] > shapes["cats/rotated.jpg"][1], \
    ("EXIF orientation not applied", shapes["cats/rotated.jpg"])
assert "dogs/hündchen_狗.jpg" in shapes and shapes["dogs/huge.png"] == (48, 48, 3), shapes
assert "cats/deep/nested/gray.jpg" in shapes
print("mixed inputs ok:", len(shapes), "records,", len(rows), "skipped")
PY
grep -q "skipped 4" mixed.log || fail "summary does not count 4 skipped inputs"
if "$bin" prep --input mixed --out strict_shards --size 48 --strict 2>strict.err; then fail "--strict accepted broken inputs"; fi
test ! -e strict_shards/index.json || fail "--strict left a complete-looking dataset"

echo "== every storage x resize policy round-trips and trains"
"$bin" synth --out imgs --classes 3 --per-class 10 --size 80 --task texture --seed 2
for storage in jpeg raw; do
  for resize in squash center-crop short-side; do
    out="s_${storage}_${resize}"
    "$bin" prep --input imgs --out "$out" --size 40 --storage "$storage" --resize "$resize" --shard-records 7 >/dev/null
    "$bin" verify "$out" >/dev/null || fail "verify $out"
    "$bin" train --data.dir "$out" --train.out_dir runs --train.run_name "$out" --train.batch_size 4 \
      --train.max_steps 2 --train.threads 1 --train.device cpu --model.backbone resnet-tiny >/dev/null \
      || fail "training on $out"
  done
done
"$py" - <<'PY'
import h5py, json
for storage in ("jpeg", "raw"):
    for resize in ("squash", "center-crop", "short-side"):
        out = f"s_{storage}_{resize}"
        m = json.load(open(f"{out}/index.json"))
        assert m["storage"] == storage and m["size_policy"] == resize, m
        with h5py.File(f"{out}/{m['splits']['train']['shards'][0]['file']}", "r") as f:
            assert f.attrs["storage"] == storage and f.attrs["wisesr_schema_version"] == 1
            for i in range(len(f["labels"])):
                h, w, c = (int(v) for v in f["shapes"][i])
                n = int(f["offsets"][i + 1] - f["offsets"][i])
                if resize == "short-side":
                    assert min(h, w) == 40, (out, h, w)
                else:
                    assert (h, w) == (40, 40), (out, h, w)
                if storage == "raw":
                    assert n == h * w * c, (out, n, h, w)
print("storage x resize ok")
PY

echo "== list files, class index, separate validation list, integer labels"
( cd imgs && find . -name '*.jpg' | sort | awk -F/ '{print $2"/"$3"\t"$2}' ) > all.tsv
head -n 24 all.tsv > train.tsv
tail -n 6 all.tsv | sed 's/\t/,/' > val.csv
printf 'square\ncircle\ntriangle\n' > classes.txt
"$bin" prep --list train.tsv --val-list val.csv --root imgs --class-index classes.txt --out listed --size 32 >/dev/null
"$py" - <<'PY'
import json
m = json.load(open("listed/index.json"))
assert m["classes"] == ["square", "circle", "triangle"], m["classes"]
assert m["splits"]["train"]["records"] == 24 and m["splits"]["val"]["records"] == 6, m["splits"]
PY
awk -F'\t' 'BEGIN{split("square circle triangle",c," ")} {for(i=1;i<=3;i++) if($2==c[i]) print $1"\t"(i-1)}' all.tsv > numeric.tsv
"$bin" prep --list numeric.tsv --root imgs --class-index classes.txt --out numeric --size 32 >/dev/null
"$py" - <<'PY'
import json
m = json.load(open("numeric/index.json"))
s = m["splits"]
counts = [a + b for a, b in zip(s["train"]["class_counts"], s["val"]["class_counts"])]
assert m["classes"] == ["square", "circle", "triangle"] and counts == [10, 10, 10], (m["classes"], counts)
PY
printf 'imgs/x.jpg\tzebra\n' > unknown.tsv
if "$bin" prep --list unknown.tsv --root . --class-index classes.txt --out unknown --size 32 2>unknown.err; then
  fail "unknown label accepted"
fi
grep -q "zebra" unknown.err || fail "unknown label not named"
printf '%s\n%s\n%s\n' "$(head -n1 train.tsv)" "$(head -n1 train.tsv)" "$(tail -n1 train.tsv)" > dup.tsv  # 2 classes
"$bin" prep --list dup.tsv --root imgs --out dup --size 32 --val-fraction 0 | grep -q "skipped 1" || fail "duplicate not skipped"

echo "== deterministic across thread counts"
"$bin" prep --input imgs --out t1 --size 40 --threads 1 --shard-records 5 >/dev/null
"$bin" prep --input imgs --out t2 --size 40 --threads 2 --shard-records 5 >/dev/null
for f in t1/*.h5; do cmp "$f" "t2/$(basename "$f")" || fail "$f differs between 1 and 2 threads"; done

echo "== resume after a kill"
"$bin" synth --out many --classes 4 --per-class 150 --size 256 --seed 5 >/dev/null
"$bin" prep --input many --out clean --size 64 --threads 1 --shard-records 20 >/dev/null
"$bin" prep --input many --out killed --size 64 --threads 1 --shard-records 20 >/dev/null &
pid=$!
for _ in $(seq 1 500); do
  [[ -f killed/prep-journal.jsonl && $(wc -l < killed/prep-journal.jsonl) -ge 4 ]] && break
  sleep 0.01
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
test ! -e killed/index.json || fail "prep finished before it could be killed (make the input larger)"
"$bin" prep --input many --out killed --size 64 --threads 2 --shard-records 20 | tee resume.log
grep -q "resumed after" resume.log || fail "re-run did not resume"
for f in clean/*.h5; do cmp "$f" "killed/$(basename "$f")" || fail "resumed $f differs from an uninterrupted run"; done
test ! -e killed/prep-journal.jsonl || fail "journal left behind"
if "$bin" prep --input many --out killed --size 64 2>again.err; then fail "prep over a complete dataset"; fi

echo "== a full disk: a clear error, completed shards kept, resumable"
smallfs="$work/smallfs"
mkdir -p "$smallfs"
if mount -t tmpfs -o size=400k tmpfs "$smallfs" 2>/dev/null; then
  trap 'umount "$smallfs" 2>/dev/null || true; wisesr_test_cleanup' EXIT
  if "$bin" prep --input many --out "$smallfs/out" --size 64 --threads 1 --shard-records 20 2>full.err >/dev/null; then
    fail "prep succeeded on a full disk"
  fi
  test "$(wc -l < full.err)" -eq 1 || { cat full.err; fail "expected one error line"; }
  grep -qi "disk full\|cannot write\|failed" full.err || { cat full.err; fail "error does not say what failed"; }
  test ! -e "$smallfs/out/index.json" || fail "a failed prep left index.json"
  ls "$smallfs/out/train-00000.h5" >/dev/null || fail "completed shards were not kept"
  mount -o remount,size=16m "$smallfs"
  "$bin" prep --input many --out "$smallfs/out" --size 64 --threads 1 --shard-records 20 | grep -q "resumed after" \
    || fail "no resume after the disk-full failure"
  for f in clean/*.h5; do cmp "$f" "$smallfs/out/$(basename "$f")" || fail "$f differs after a disk-full resume"; done
  umount "$smallfs"
else
  echo "SKIP (full disk only): cannot mount a small tmpfs here"
fi
echo "== an unwritable output is named"
touch not_a_dir
if "$bin" prep --input imgs --out not_a_dir/sub --size 32 2>unwritable.err; then fail "prep into a file"; fi
grep -q "not_a_dir" unwritable.err || fail "unwritable output not named"

echo "== file permissions: an unreadable input is skipped with its reason, a read-only output is named"
# As root, permission bits do not bind; run prep without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH so they do.
as_user=()
if [[ $(id -u) -eq 0 ]]; then
  if setpriv --bounding-set=-dac_override,-dac_read_search true 2>/dev/null; then
    as_user=(setpriv --bounding-set=-dac_override,-dac_read_search)
  else
    as_user=(skip)
  fi
fi
if [[ ${as_user[0]:-} == skip ]]; then
  echo "SKIP (permissions only): root without setpriv cannot lose its file-permission override"
else
  mkdir -p perm/a perm/b
  cp imgs/"$(ls imgs | head -1)"/* perm/a/
  cp imgs/"$(ls imgs | tail -1)"/* perm/b/
  locked=$(ls perm/a | head -1)
  chmod 000 "perm/a/$locked"
  "${as_user[@]}" "$bin" prep --input perm --out perm_shards --size 32 --val-fraction 0 | tee perm.log
  grep -q "skipped 1" perm.log || fail "the unreadable input was not counted"
  grep -qP "^a/$locked\tunreadable \(Permission denied\)$" perm_shards/skipped.tsv ||
    { cat perm_shards/skipped.tsv; fail "skipped.tsv does not give the unreadable file and why"; }
  if "${as_user[@]}" "$bin" prep --input perm --out perm_shards2 --size 32 --strict 2>perm_strict.err; then
    fail "--strict accepted an unreadable input"
  fi
  mkdir -p readonly && chmod 555 readonly
  if "${as_user[@]}" "$bin" prep --input imgs --out readonly/out --size 32 2>readonly.err; then
    fail "prep wrote into a read-only directory"
  fi
  test "$(wc -l <readonly.err)" -eq 1 || { cat readonly.err; fail "expected one error line"; }
  grep -q "readonly/out" readonly.err || { cat readonly.err; fail "the read-only output is not named"; }
  chmod 755 readonly "perm/a/$locked"
fi

echo "== verify finds corruption"
"$bin" verify clean >/dev/null
cp -r clean flipped
"$py" - flipped/train-00001.h5 <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x40
open(p, "wb").write(b)
PY
if "$bin" verify flipped > flipped.log; then fail "verify missed a flipped byte"; fi
grep -q "FAILED  train-00001.h5" flipped.log || fail "verify did not name the damaged shard"
cp -r clean truncated
truncate -s 5000 truncated/val-00000.h5
if "$bin" verify truncated > truncated.log; then fail "verify missed a truncated shard"; fi
grep -q "FAILED  val-00000.h5" truncated.log || fail "verify did not name the truncated shard"

echo "== the h5py example of docs/shard-format.md"
sed -n '/^```python$/,/^```$/p' "$src/docs/shard-format.md" | sed '1d;$d' | sed 's#shards/train-00000.h5#clean/train-00000.h5#' > example.py
"$py" example.py | grep -q "layout_" || fail "docs example"

echo "== dry run"
"$bin" prep --input many --out dry --size 64 --dry-run | tee dry.log
grep -q "expected size" dry.log && test ! -e dry || fail "dry run"
echo "prep: passed"
